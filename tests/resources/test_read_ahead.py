"""Read ahead: every row once, in order, in bounded batches; errors reach the caller; a
reader that stops early stops the worker, and the slice reader's connection is free after."""

import threading
from datetime import date

import pytest

from resources.postgres.read_ahead import read_ahead
from tests.fakes.dbfixtures import insert_synthetic_runs


def _workers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "read-ahead"]


def test_every_item_arrives_once_in_order_in_batches_bounded_by_rows_and_bytes():
    items = [b"x" * (n % 7) for n in range(1000)]
    with read_ahead(iter(items), len, batch_rows=50, batch_bytes=100, depth=2) as batches:
        received = list(batches)
    assert [item for batch in received for item in batch] == items
    # A batch closes at 50 rows or once it reaches 100 bytes (one item may cross it).
    assert all(len(batch) <= 50 and sum(map(len, batch[:-1])) < 100 for batch in received)
    assert not _workers()


def test_an_error_of_the_source_is_raised_in_the_callers_thread():
    def failing():
        yield from range(10)
        raise ConnectionError("server closed the connection")

    with (
        pytest.raises(ConnectionError, match="server closed"),
        read_ahead(failing(), lambda _: 1, batch_rows=3) as batches,
    ):
        list(batches)
    assert not _workers()


def test_a_reader_that_stops_early_stops_the_worker_within_the_queue_bound():
    read = []

    def long():
        for n in range(100_000):
            read.append(n)
            yield n

    with read_ahead(long(), lambda _: 1, batch_rows=10, depth=2) as batches:
        next(batches)
    assert not _workers()
    # The worker stopped: what it read is the queue's bound (and a batch or two in hand),
    # not the whole source.
    assert len(read) <= 10 * (2 + 3)


def test_a_slice_left_half_read_frees_its_connection(postgres):
    day = date(2025, 3, 4)
    insert_synthetic_runs(postgres, ["p"], [day], per_slice=3000)
    with postgres.slice_reader("p", day) as rows:
        first = [next(rows) for _ in range(5)]
    assert not _workers()
    assert all(isinstance(data, dict) and data["id"] == run_id for run_id, _, data in first)
    assert postgres.slice_row_count("p", day) == 3000
    with postgres.slice_reader("p", day) as rows:
        run_ids = [run_id for run_id, _, _ in rows]
    assert run_ids == sorted(run_ids) and len(run_ids) == 3000
