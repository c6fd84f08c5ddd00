"""Progress of long streams: a line at most every `every_seconds`, with count and rate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def reporting(
    items: Iterable[T],
    report: Callable[[int, float], None],
    every_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[T]:
    """Yield `items` unchanged; call `report(count, per_second)` every `every_seconds`."""
    started = last = clock()
    for count, item in enumerate(items, start=1):
        now = clock()
        if now - last >= every_seconds:
            report(count, count / max(now - started, 1e-9))
            last = now
        yield item
