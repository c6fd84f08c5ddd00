"""The Parquet destination: a local folder, or any fsspec URL (`s3://…`, `gs://…`, and
S3-compatible stores such as MinIO through the standard AWS endpoint variables).

The rule: a file appears whole or not at all, and only after it was read back. It is
written under `<root>/_lse_staging/` (a name ending `.tmp`, in a folder starting `_`:
ignored by DuckDB's `*.parquet` globs, BigQuery's `*.parquet` URIs, Spark and Hive),
its footer read back and its row count checked, then committed:
- local folder: fsync, then an atomic rename over the final name, then fsync of the folder;
- object stores: a server-side copy to the final key (an object store shows a reader the
  old object or the new one, never a part), then the staging key deleted.
Not a `_SUCCESS` marker: DuckDB, BigQuery and Spark read every `*.parquet` under a prefix
and never look for one, so a marker written last would protect no reader we serve.

Credentials are read by each SDK its own way (AWS_* variables or profile, GOOGLE_
APPLICATION_CREDENTIALS, instance metadata), never from the URL (refused if it holds
any), so they never reach config, metadata, logs or messages.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import dagster as dg
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from lse_assets.core import durable
from lse_assets.core.errors import PermanentError, TransientError
from lse_assets.core.ports import Footer, Written
from lse_assets.settings import PARQUET_URL_CREDENTIALS, url_holds_credentials

STAGING = "_lse_staging"
READ_BATCH_ROWS = 1_000


class ParquetStoreResource(dg.ConfigurableResource):
    url: str = Field(description="Root of the Hive tree: a local folder or an fsspec URL.")

    # --- where ---------------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return "://" not in self.url or self.url.startswith("file://")

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        if url_holds_credentials(self.url):  # Settings refuses it first; this is for other callers
            raise PermanentError(PARQUET_URL_CREDENTIALS)
        try:
            fs, root = fsspec.core.url_to_fs(self.url)
        except ImportError as error:
            scheme = urlsplit(self.url).scheme
            raise PermanentError(
                f"LSE_PARQUET_URL uses {scheme}://, whose fsspec driver is not installed "
                f"({error}); install it (s3fs for s3://, gcsfs for gs://) or use a local folder"
            ) from None
        return fs, root.rstrip("/")

    def filesystem(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem the copy lives on, with the SDK's own credentials: readers
        (`lse sql` registers it with DuckDB) reach the copy exactly as the writer does."""
        return self._fs()[0]

    def location(self, relative: str) -> str:
        """The file's full address, as readers (DuckDB, BigQuery) take it."""
        return f"{self.url.rstrip('/')}/{relative}"

    # --- read ----------------------------------------------------------------------------

    def footer(self, relative: str) -> Footer | None:
        """The file's footer (key-value metadata, rows, size); None when there is none or
        it is not a readable Parquet file (so a damaged file is rewritten, never trusted)."""
        fs, root = self._fs()
        path = f"{root}/{relative}"
        try:
            with _storage_errors(self.location(relative)), fs.open(path, "rb") as handle:
                parquet = pq.ParquetFile(handle)
                return Footer(
                    metadata=dict(parquet.schema_arrow.metadata or {}),
                    rows=parquet.metadata.num_rows,
                    size=fs.size(path),
                )
        except FileNotFoundError:
            return None
        except (pa.ArrowException, OSError, ValueError):
            return None

    @contextmanager
    def batches(self, relative: str) -> Iterator[Iterator[pa.RecordBatch] | None]:
        """The file's rows as record batches (page checksums verified), or None when the
        file does not exist. Errors while reading surface from the iterator."""
        fs, root = self._fs()
        try:
            handle = fs.open(f"{root}/{relative}", "rb")
        except FileNotFoundError:
            yield None
            return
        with handle:
            yield _read_batches(handle)

    # --- write ---------------------------------------------------------------------------

    def write(self, relative: str, produce: Callable[[IO[bytes]], int]) -> Written:
        """Write through `produce(sink) -> rows` to staging, check, commit (module rule).
        Callers hold the partition's lock, so staging leftovers of the same file (a
        killed earlier run) are this writer's to remove."""
        fs, root = self._fs()
        name = relative.rsplit("/", 1)[-1]
        staging_dir = f"{root}/{STAGING}"
        staging = f"{staging_dir}/{uuid.uuid4().hex}-{name}.tmp"
        final = f"{root}/{relative}"
        where = self.location(relative)
        with _storage_errors(where):
            cleared = self._remove_leftovers(fs, staging_dir, name)
            fs.makedirs(staging_dir, exist_ok=True)
            try:
                with fs.open(staging, "wb") as sink:
                    rows = produce(sink)
                    if self.is_local:
                        sink.flush()
                        os.fsync(sink.fileno())
                written = self._read_back(fs, staging, rows)
                self._commit(fs, staging, final)
            except BaseException:
                if fs.exists(staging):
                    fs.rm(staging)
                raise
        return Written(rows=rows, size=written, location=where, leftovers_cleared=cleared)

    def _read_back(self, fs: fsspec.AbstractFileSystem, staging: str, rows: int) -> int:
        with fs.open(staging, "rb") as handle:
            found = pq.ParquetFile(handle).metadata.num_rows
        if found != rows:
            raise TransientError(
                f"the Parquet file read back holds {found} rows, {rows} were written; "
                "nothing was replaced: run the step again"
            )
        return fs.size(staging)

    def _commit(self, fs: fsspec.AbstractFileSystem, staging: str, final: str) -> None:
        if self.is_local:
            target = Path(final)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, target)
            durable.fsync_dir(target.parent)
            return
        fs.copy(staging, final)  # server-side: the final key changes in one step
        fs.rm(staging)

    def _remove_leftovers(self, fs: fsspec.AbstractFileSystem, staging_dir: str, name: str) -> int:
        try:
            leftovers = fs.glob(f"{staging_dir}/*-{name}.tmp")
        except FileNotFoundError:
            return 0
        for leftover in leftovers:
            fs.rm(leftover)
        return len(leftovers)

    def others_of_the_same_name(self, relative: str) -> list[str]:
        """Relative paths of files with this one's name and day under another tenant or
        project id (the partition's ids became known after an earlier write): stale copies."""
        fs, root = self._fs()
        _, _, rest = relative.split("/", 2)
        with _storage_errors(self.location(relative)):
            fs.invalidate_cache()
            found = fs.glob(f"{root}/tenant_id=*/session_id=*/{rest}")
        return sorted(path[len(root) + 1 :] for path in found if path[len(root) + 1 :] != relative)

    def delete(self, relative: str) -> bool:
        """Remove the file (lse forget of a whole day); whether there was one."""
        fs, root = self._fs()
        path = f"{root}/{relative}"
        with _storage_errors(self.location(relative)):
            if not fs.exists(path):
                return False
            fs.rm(path)
            return True


def _read_batches(handle: IO[bytes]) -> Iterator[pa.RecordBatch]:
    # Opened lazily, so a damaged footer surfaces from the iterator like a damaged page.
    parquet = pq.ParquetFile(handle, page_checksum_verification=True)
    yield from parquet.iter_batches(batch_size=READ_BATCH_ROWS)


@contextmanager
def _storage_errors(where: str) -> Iterator[None]:
    """Storage failures named by the file and the fix; permissions are not retried."""
    try:
        yield
    except PermissionError as error:
        raise PermanentError(
            f"{where}: permission denied ({type(error).__name__}); give the credentials "
            "write access to LSE_PARQUET_URL, or point it elsewhere"
        ) from None
    except FileNotFoundError:
        raise
    except OSError as error:
        raise TransientError(f"{where}: storage error ({error}); run the step again") from error
