"""Read ahead: drain a streamed query on a worker thread, in bounded batches.

A streamed query's server writes rows until the socket's buffer (a few hundred KB) is
full, then waits for the client to read. A client that parses and compares between
reads leaves the server idle for that time: the two take turns. A worker thread that
only reads keeps the server producing while the caller works (waiting on the socket
releases the GIL). Memory stays bounded: at most `depth` batches, each of at most
`batch_rows` rows or about `batch_bytes` bytes, wait for the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def read_ahead(
    items: Iterator[T],
    size_of: Callable[[T], int],
    *,
    batch_rows: int = 500,
    batch_bytes: int = 1 << 20,
    depth: int = 4,
) -> Iterator[Iterator[list[T]]]:
    """Batches of `items`, read by a worker thread ahead of the caller. The worker alone
    advances `items`; on exit (the batches read or not) it has stopped, so the caller may
    then close `items`. An exception of the worker is raised in the caller's thread."""
    batches: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def work() -> None:
        try:
            batch: list[T] = []
            size = 0
            for item in items:
                batch.append(item)
                size += size_of(item)
                if len(batch) >= batch_rows or size >= batch_bytes:
                    if stop.is_set():
                        return
                    batches.put(batch)
                    batch, size = [], 0
            batches.put(batch)
            batches.put(_DONE)
        except BaseException as error:  # handed to the caller, who raises it
            batches.put(_Failed(error))

    def received() -> Iterator[list[T]]:
        while (batch := batches.get()) is not _DONE:
            if isinstance(batch, _Failed):
                raise batch.error
            yield batch  # type: ignore[misc]

    worker = threading.Thread(target=work, name="read-ahead", daemon=True)
    worker.start()
    try:
        yield received()
    finally:
        stop.set()
        while worker.is_alive():  # unblock a worker waiting for room in the queue
            with suppress(queue.Empty):
                batches.get(timeout=0.01)
        worker.join()
