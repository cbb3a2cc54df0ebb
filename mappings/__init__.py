"""What corresponds to what: the link store, base snapshots, conflict log, run history and value maps."""
