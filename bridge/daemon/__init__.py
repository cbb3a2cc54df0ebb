"""The scheduled daemon: runs every job on its schedule, alone or as one of several instances on PostgreSQL."""
