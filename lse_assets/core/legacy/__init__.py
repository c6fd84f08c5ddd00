"""Reading the legacy exports (formats) and importing them as partitions (importer)."""
