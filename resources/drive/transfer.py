"""Moving bytes to and from Drive: multipart or resumable chunked uploads, ranged downloads.

Resumable uploads are driven chunk by chunk by our own loop: `next_chunk()` without
`num_retries` (the library's retry re-sends a chunk stream it already consumed and hangs),
each step retried by the backoff policy; after an error the client asks the server how far
it got (`Content-Range: bytes */N`) and resumes from there. A session the server forgot
(404/410) starts over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaIoBaseDownload, MediaIoBaseUpload

from resources.drive.errors import Backoff

ZIP_MIME = "application/zip"
CHUNK_GRANULE = 256 * 1024  # Drive accepts chunks (but the last) in multiples of this
_SESSION_RESTARTS = 3


class _ChunkBytesUpload(MediaIoBaseUpload):
    """Sends each chunk as bytes rather than a slice of the file stream.

    httplib2 re-sends a request once when the connection drops before the response; a
    stream slice is consumed by then, so the re-send would declare N bytes and send none
    (hanging until the timeout). Bytes are re-sent intact. Memory: one chunk.
    """

    def has_stream(self) -> bool:
        return False


def upload(
    make_request: Callable[[MediaIoBaseUpload], HttpRequest],
    path: Path,
    *,
    chunk_size: int,
    resumable_threshold: int,
    backoff: Backoff,
    log: logging.Logger,
) -> dict[str, Any]:
    """Run `make_request(media)` (a files.create or files.update) to completion."""
    with open(path, "rb") as handle:
        if path.stat().st_size <= resumable_threshold:
            media = MediaIoBaseUpload(handle, ZIP_MIME, resumable=False)
            return backoff.call(f"upload of {path.name}", log, make_request(media).execute)
        media = _ChunkBytesUpload(handle, ZIP_MIME, chunksize=chunk_size, resumable=True)
        return _resumable(make_request, media, path.name, backoff, log)


def _resumable(
    make_request: Callable[[MediaIoBaseUpload], HttpRequest],
    media: MediaIoBaseUpload,
    name: str,
    backoff: Backoff,
    log: logging.Logger,
) -> dict[str, Any]:
    request, restarts = make_request(media), 0
    while True:
        try:
            status, response = backoff.call(
                f"upload of {name} (resumable)", log, lambda r=request: r.next_chunk()
            )
        except HttpError as error:
            if (
                error.status_code in (404, 410)
                and request.resumable_uri
                and restarts < _SESSION_RESTARTS
            ):
                restarts += 1
                log.warning(f"Google Drive forgot the upload session of {name}; starting over")
                request = make_request(media)
                continue
            raise
        if response is not None:
            return response
        log.debug(f"{name}: {status.resumable_progress} of {status.total_size} bytes uploaded")


def download(
    request: HttpRequest,
    handle: BinaryIO,
    *,
    chunk_size: int,
    backoff: Backoff,
    name: str,
    log: logging.Logger,
) -> None:
    """Ranged GETs into `handle`; a failed range is asked for again, never half-written."""
    downloader = MediaIoBaseDownload(handle, request, chunksize=chunk_size)
    done = False
    while not done:
        _, done = backoff.call(f"download of {name}", log, downloader.next_chunk)
