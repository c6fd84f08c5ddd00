"""ParquetStoreResource on a local folder and on S3 (the emulator, through the same code
path as production): a file appears whole or not at all, a killed writer leaves the
previous file, credentials never sit in the URL."""

import signal
import subprocess
import sys
import textwrap

import fsspec
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


class Destination:
    """A destination as a reader outside the store sees it (its own fsspec client)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url)

    def read(self, relative: str = RELATIVE) -> bytes:
        return self.fs.cat_file(f"{self.root}/{relative}")

    def write(self, data: bytes, relative: str = RELATIVE) -> None:
        self.fs.pipe_file(f"{self.root}/{relative}", data)

    def staged(self) -> list[str]:
        self.fs.invalidate_cache()
        try:
            return sorted(self.fs.ls(f"{self.root}/{STAGING}", detail=False))
        except FileNotFoundError:
            return []


@pytest.fixture(params=["local", "s3"])
def destination(request, tmp_path) -> Destination:
    if request.param == "local":
        return Destination(str(tmp_path / "parquet"))
    bucket = request.getfixturevalue("s3_bucket")
    return Destination(f"{bucket.url}/lse/parquet")


def test_a_write_appears_whole_with_its_footer_and_leaves_no_staging(destination):
    store = ParquetStoreResource(url=destination.url)

    written = store.write(RELATIVE, _producer(3))

    assert written.rows == 3 and written.location == f"{destination.url}/{RELATIVE}"
    footer = store.footer(RELATIVE)
    assert footer.rows == 3 and footer.metadata[b"lse.content_sha256"] == b"v1"
    assert footer.size == len(destination.read()) == written.size
    assert destination.staged() == []
    with store.batches(RELATIVE) as batches:
        assert [row["id"] for batch in batches for row in batch.to_pylist()] == [
            "run-00000",
            "run-00001",
            "run-00002",
        ]


def test_no_file_means_no_footer_and_no_batches(destination):
    store = ParquetStoreResource(url=destination.url)

    assert store.footer(RELATIVE) is None
    with store.batches(RELATIVE) as batches:
        assert batches is None


def test_a_damaged_file_has_no_footer_so_it_is_rewritten_not_trusted(destination):
    store = ParquetStoreResource(url=destination.url)
    store.write(RELATIVE, _producer(3))
    destination.write(b"PAR1 not really")

    assert store.footer(RELATIVE) is None


def test_a_writer_that_fails_half_way_leaves_the_previous_file_byte_for_byte(destination):
    store = ParquetStoreResource(url=destination.url)
    store.write(RELATIVE, _producer(3))
    before = destination.read()

    def broken(sink) -> int:
        sink.write(b"PAR1" + b"\0" * 10_000)
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="went away"):
        store.write(RELATIVE, broken)

    assert destination.read() == before
    assert destination.staged() == []


def test_a_file_that_does_not_read_back_as_written_is_not_committed(destination):
    store = ParquetStoreResource(url=destination.url)

    def miscounted(sink) -> int:
        return _producer(3)(sink) + 1

    with pytest.raises(TransientError, match="holds 3 rows, 4 were written"):
        store.write(RELATIVE, miscounted)

    assert store.footer(RELATIVE) is None
    assert destination.staged() == []


def test_a_killed_writer_leaves_the_previous_file_and_the_next_write_clears_its_leftover(
    destination,
):
    store = ParquetStoreResource(url=destination.url)
    store.write(RELATIVE, _producer(3))
    before = destination.read()
    script = textwrap.dedent(
        f"""
        import sys, time
        from resources.object_store.resource import ParquetStoreResource
        def produce(sink):
            sink.write(b"PAR1" + b"x" * 6_000_000)  # past S3's 5 MiB: a multipart upload
            sink.flush()
            print("writing", flush=True)
            time.sleep(60)
        ParquetStoreResource(url={destination.url!r}).write({RELATIVE!r}, produce)
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=30)

    assert destination.read() == before  # readers never saw a part
    # Locally the killed writer's staging file stays (the next write clears it); on S3 an
    # unfinished multipart upload is no object at all.
    assert len(destination.staged()) == (0 if destination.url.startswith("s3://") else 1)

    store.write(RELATIVE, _producer(5))

    assert store.footer(RELATIVE).rows == 5
    assert destination.staged() == []


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


def test_files_of_the_same_name_under_other_ids_are_found(destination):
    store = ParquetStoreResource(url=destination.url)
    store.write(RELATIVE, _producer(3))
    other = RELATIVE.replace("tenant_id=t/session_id=s", "tenant_id=u/session_id=v")
    store.write(other, _producer(2))
    store.write(RELATIVE.replace("day=13", "day=14"), _producer(1))  # another day: not it

    assert store.others_of_the_same_name(RELATIVE) == [other]
    assert store.delete(other) and not store.delete(other)
    assert store.others_of_the_same_name(RELATIVE) == []
