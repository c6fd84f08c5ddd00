"""LangSmith: the run source resource, its HTTP API, day paging, retries, and the sample twin."""
