"""The sync engine: one pure merge over pluggable adapters, with the mapping store as its status table."""
