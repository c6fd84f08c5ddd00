"""Postgres: the resource, the embedded default server, and the monthly tables of `runs`."""
