"""ParquetStoreResource on a local folder: a file appears whole or not at all, a killed
writer leaves the previous file, credentials never sit in the URL."""

import os
import signal
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lse_assets.core.errors import PermanentError, TransientError
from lse_assets.settings import Settings
from resources.object_store.resource import STAGING, ParquetStoreResource

RELATIVE = "tenant_id=t/session_id=s/resource=runs/year=2025/month=09/day=13/p_2025-09-13.parquet"


def _producer(rows: int, metadata: dict | None = None):
    def produce(sink) -> int:
        table = pa.table({"id": [f"run-{index:05d}" for index in range(rows)]})
        table = table.replace_schema_metadata(metadata or {b"lse.content_sha256": b"v1"})
        pq.write_table(table, sink)
        return rows

    return produce


def _staged(root) -> list[str]:
    staging = root / STAGING
    return sorted(os.listdir(staging)) if staging.exists() else []


def test_a_write_appears_whole_with_its_footer_and_leaves_no_staging(tmp_path):
    store = ParquetStoreResource(url=str(tmp_path))

    written = store.write(RELATIVE, _producer(3))

    assert written.rows == 3 and written.location == f"{tmp_path}/{RELATIVE}"
    footer = store.footer(RELATIVE)
    assert footer.rows == 3 and footer.metadata[b"lse.content_sha256"] == b"v1"
    assert footer.size == (tmp_path / RELATIVE).stat().st_size == written.size
    assert _staged(tmp_path) == []
    with store.batches(RELATIVE) as batches:
        assert [row["id"] for batch in batches for row in batch.to_pylist()] == [
            "run-00000",
            "run-00001",
            "run-00002",
        ]


def test_no_file_means_no_footer_and_no_batches(tmp_path):
    store = ParquetStoreResource(url=str(tmp_path))

    assert store.footer(RELATIVE) is None
    with store.batches(RELATIVE) as batches:
        assert batches is None


def test_a_damaged_file_has_no_footer_so_it_is_rewritten_not_trusted(tmp_path):
    store = ParquetStoreResource(url=str(tmp_path))
    store.write(RELATIVE, _producer(3))
    (tmp_path / RELATIVE).write_bytes(b"PAR1 not really")

    assert store.footer(RELATIVE) is None


def test_a_writer_that_fails_half_way_leaves_the_previous_file_byte_for_byte(tmp_path):
    store = ParquetStoreResource(url=str(tmp_path))
    store.write(RELATIVE, _producer(3))
    before = (tmp_path / RELATIVE).read_bytes()

    def broken(sink) -> int:
        sink.write(b"PAR1" + b"\0" * 10_000)
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="went away"):
        store.write(RELATIVE, broken)

    assert (tmp_path / RELATIVE).read_bytes() == before
    assert _staged(tmp_path) == []


def test_a_file_that_does_not_read_back_as_written_is_not_committed(tmp_path):
    store = ParquetStoreResource(url=str(tmp_path))

    def miscounted(sink) -> int:
        return _producer(3)(sink) + 1

    with pytest.raises(TransientError, match="holds 3 rows, 4 were written"):
        store.write(RELATIVE, miscounted)

    assert not (tmp_path / RELATIVE).exists()
    assert _staged(tmp_path) == []


def test_a_killed_writer_leaves_the_previous_file_and_the_next_write_clears_its_leftover(
    tmp_path,
):
    store = ParquetStoreResource(url=str(tmp_path))
    store.write(RELATIVE, _producer(3))
    before = (tmp_path / RELATIVE).read_bytes()
    script = textwrap.dedent(
        f"""
        import sys, time
        from resources.object_store.resource import ParquetStoreResource
        def produce(sink):
            sink.write(b"PAR1" + b"x" * 1_000_000)
            sink.flush()
            print("writing", flush=True)
            time.sleep(60)
        ParquetStoreResource(url={str(tmp_path)!r}).write({RELATIVE!r}, produce)
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=30)

    assert (tmp_path / RELATIVE).read_bytes() == before  # readers never saw a part
    assert len(_staged(tmp_path)) == 1  # the killed writer's staging file

    store.write(RELATIVE, _producer(5))

    assert store.footer(RELATIVE).rows == 5
    assert _staged(tmp_path) == []


@pytest.mark.parametrize("build", ["settings", "resource"])
def test_credentials_in_the_url_are_refused_without_echoing_them(build, monkeypatch):
    url = "s3://AKIAEXAMPLE:s3cr3t-value@bucket/prefix"
    with pytest.raises((ValueError, PermanentError)) as refused:
        if build == "settings":
            monkeypatch.setenv("LSE_PARQUET_URL", url)
            Settings()
        else:
            ParquetStoreResource(url=url).footer(RELATIVE)

    message = str(refused.value)
    assert "LSE_PARQUET_URL" in message and "AWS_ACCESS_KEY_ID" in message
    assert "s3cr3t" not in message and "AKIAEXAMPLE" not in message


def test_a_url_whose_driver_is_not_installed_names_the_package_to_install():
    store = ParquetStoreResource(url="abfs://container/prefix")

    with pytest.raises(PermanentError, match=r"abfs://.*not installed"):
        store.footer(RELATIVE)
