"""testplan-bridge: keeps test plans, cases and results in sync between test managers."""

__version__ = "0.1.0"
