"""LSE on Dagster. Floors, each importing only those below it (docs/architecture.md):
settings ← core (pure domain) ← resources (outside systems) ← defs (Dagster objects)
← definitions (the code location, `defs`) ← cli. Importing this package loads nothing else,
so `lse --help` and the pure helpers do not pay for Dagster.
"""
