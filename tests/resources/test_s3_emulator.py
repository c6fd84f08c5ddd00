"""The S3 emulator (tests/fakes/s3_server.py) and what the Parquet export leans on in s3fs.

Each test goes through the production path: a plain `s3://` URL, fsspec/s3fs, credentials and
endpoint from the standard AWS variables. The last tests pin s3fs behaviour that decides how
an object-store write is committed: a failed write inside a plain `with fs.open(...)` block
still publishes what was written; one inside `fs.transaction` (or opened with
`autocommit=False` and discarded) publishes nothing and leaves no pending multipart upload.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fakes.s3_server import S3Bucket, duckdb_connection

# NUL and non-ASCII bytes, as in the archive's own content.
PAYLOAD = "ünïcode \x00 nul 🐢\n".encode() * 50
MIB = 2**20


class Boom(Exception):
    pass


def _s3(bucket: S3Bucket) -> fsspec.AbstractFileSystem:
    """The filesystem exactly as production code gets it (no arguments), checked to be on the
    emulator before it sends anything: a broken setup fails here, not by calling AWS."""
    fs = fsspec.filesystem("s3")
    fs.connect()
    assert fs.s3.meta.endpoint_url == bucket.emulator.endpoint_url
    return fs


def _api_calls(fs: fsspec.AbstractFileSystem) -> list[str]:
    """Names of the S3 API calls the filesystem makes from now on (botocore's own events)."""
    calls: list[str] = []
    fs.s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


def _dead_loopback_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_plain_s3_url_reaches_the_emulator(s3_bucket: S3Bucket) -> None:
    url = f"{s3_bucket.url}/runs/2025-01-02/a.bin"
    fs = _s3(s3_bucket)
    with fsspec.open(url, "wb") as handle:
        handle.write(PAYLOAD)

    stored = s3_bucket.emulator.client().get_object(
        Bucket=s3_bucket.name, Key="runs/2025-01-02/a.bin"
    )
    assert stored["Body"].read() == PAYLOAD
    assert fs.find(s3_bucket.name) == [f"{s3_bucket.name}/runs/2025-01-02/a.bin"]
    with fsspec.open(url, "rb") as handle:
        assert handle.read() == PAYLOAD


def test_the_s3_endpoint_variable_wins_over_the_generic_one(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", _dead_loopback_url())
    _s3(s3_bucket).pipe(f"{s3_bucket.name}/a", PAYLOAD)
    assert s3_bucket.emulator.client().head_object(Bucket=s3_bucket.name, Key="a")[
        "ContentLength"
    ] == len(PAYLOAD)


def test_the_generic_endpoint_variable_alone_is_enough(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    _s3(s3_bucket).pipe(f"{s3_bucket.name}/a", PAYLOAD)
    assert s3_bucket.emulator.client().head_object(Bucket=s3_bucket.name, Key="a")[
        "ContentLength"
    ] == len(PAYLOAD)


def test_copy_is_server_side_and_mv_is_copy_then_delete(s3_bucket: S3Bucket) -> None:
    fs = _s3(s3_bucket)
    root = s3_bucket.name
    fs.pipe(f"{root}/tmp/a", PAYLOAD)
    calls = _api_calls(fs)

    fs.copy(f"{root}/tmp/a", f"{root}/copy/a")
    # CopyObject: S3 copies the bytes itself; the client neither downloads nor uploads them.
    assert "CopyObject" in calls
    assert not {"GetObject", "PutObject", "UploadPart"} & set(calls)

    calls.clear()
    fs.mv(f"{root}/tmp/a", f"{root}/final/a")
    # Not a rename (S3 has none): a copy, then a delete of the source. Between the two
    # both keys exist; a crash there leaves the source behind, never a missing target.
    assert [c for c in calls if c in {"CopyObject", "DeleteObject", "DeleteObjects"}] == [
        "CopyObject",
        "DeleteObjects",
    ]
    assert fs.cat(f"{root}/final/a") == PAYLOAD
    assert sorted(fs.find(root)) == [f"{root}/copy/a", f"{root}/final/a"]

    fs.rm(f"{root}/copy/a")
    fs.rm(f"{root}/final/a")
    assert fs.find(root) == []


# One-shot PUT (below the block size) and multipart upload (a part sent before the failure).
SIZES = pytest.mark.parametrize("size", [1024, 6 * MIB], ids=["put", "multipart"])


@SIZES
def test_a_failed_write_in_a_plain_with_block_is_published_half_written(
    s3_bucket: S3Bucket, size: int
) -> None:
    fs = _s3(s3_bucket)
    key = f"{s3_bucket.name}/day.parquet"
    with pytest.raises(Boom), fs.open(key, "wb", block_size=5 * MIB) as handle:
        handle.write(b"x" * size)
        raise Boom  # e.g. a bad row in the middle of a day

    # fsspec's __exit__ closes (and so commits) the file whatever the exception: the
    # half-written bytes are visible under the final key.
    fs.invalidate_cache()
    assert fs.size(key) == size


@SIZES
def test_a_failed_write_in_a_transaction_publishes_nothing(s3_bucket: S3Bucket, size: int) -> None:
    fs = _s3(s3_bucket)
    key = f"{s3_bucket.name}/day.parquet"
    with pytest.raises(Boom), fs.transaction, fs.open(key, "wb", block_size=5 * MIB) as handle:
        handle.write(b"x" * size)
        raise Boom

    fs.invalidate_cache()
    assert not fs.exists(key)
    uploads = s3_bucket.emulator.client().list_multipart_uploads(Bucket=s3_bucket.name)
    assert uploads.get("Uploads", []) == []


@SIZES
def test_an_uncommitted_write_is_invisible_until_commit(s3_bucket: S3Bucket, size: int) -> None:
    fs = _s3(s3_bucket)
    key = f"{s3_bucket.name}/day.parquet"
    handle = fs.open(key, "wb", autocommit=False, block_size=5 * MIB)
    handle.write(b"x" * size)
    handle.close()
    assert not fs.exists(key)
    handle.commit()
    fs.invalidate_cache()
    assert fs.size(key) == size

    discarded = fs.open(f"{key}.2", "wb", autocommit=False, block_size=5 * MIB)
    discarded.write(b"x" * size)
    discarded.close()
    discarded.discard()
    fs.invalidate_cache()
    assert not fs.exists(f"{key}.2")
    uploads = s3_bucket.emulator.client().list_multipart_uploads(Bucket=s3_bucket.name)
    assert uploads.get("Uploads", []) == []


def test_parquet_through_fsspec_reads_back_with_pyarrow_and_duckdb(s3_bucket: S3Bucket) -> None:
    prefix = "export/tenant_id=t-1/session_id=s-1/resource=runs/year=2025/month=01/day=02"
    key = f"{s3_bucket.name}/{prefix}/part-0.parquet"
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("start_time", pa.timestamp("us", tz="UTC")),
            ("inputs", pa.string()),
        ]
    )
    moment = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    batches = [
        pa.table({"id": ["a", "b"], "start_time": [moment, moment], "inputs": ["{}", "ü\x00"]}),
        pa.table({"id": ["c"], "start_time": [moment], "inputs": ['{"k": "🐢"}']}),
    ]
    fs = _s3(s3_bucket)
    with fs.open(key, "wb") as handle:
        writer = pq.ParquetWriter(
            handle, schema.with_metadata(None), compression="zstd", write_page_checksum=True
        )
        for batch in batches:
            writer.write_table(batch.cast(schema))
        writer.close()

    expected = pa.concat_tables(batches).cast(schema)
    with fs.open(key, "rb") as handle:
        back = pq.read_table(handle, page_checksum_verification=True)
    assert back.equals(expected)
    with fs.open(key, "rb") as handle:
        assert pq.ParquetFile(handle).metadata.num_row_groups == 2

    connection = duckdb_connection(s3_bucket.emulator)
    rows = connection.sql(
        f"""SELECT id, start_time, inputs, tenant_id, session_id, resource, year, month, day
            FROM read_parquet('{s3_bucket.url}/export/**/*.parquet', hive_partitioning = true)
            ORDER BY id"""
    ).fetchall()
    assert [(r[0], r[1].astimezone(UTC), r[2]) for r in rows] == [
        ("a", moment, "{}"),
        ("b", moment, "ü\x00"),
        ("c", moment, '{"k": "🐢"}'),
    ]
    # DuckDB types the Hive values itself: `year=2025` becomes a number, the zero-padded
    # `month=01` and `day=02` stay text (a cast would lose the padding).
    assert {r[3:] for r in rows} == {("t-1", "s-1", "runs", 2025, "01", "02")}
