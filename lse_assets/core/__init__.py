"""The pure domain: stdlib, pydantic and orjson only; never Dagster, click or resources.

Checked by the import-linter contracts in pyproject.toml (tests/test_architecture.py).
"""
