"""Object storage (a local folder, S3, GCS through fsspec): where the Parquet copy lives."""
