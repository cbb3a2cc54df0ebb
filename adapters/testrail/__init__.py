"""TestRail (API v2): client, conversion, adapter and simulator."""
