"""Progress of long streams: a line at most every `every_seconds`, with count and rate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Every:
    """`due()` is true at most once per `seconds`, counted from creation."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.started = self.last = clock()

    def due(self) -> bool:
        now = self.clock()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True

    def rate(self, count: int) -> float:
        """`count` per second from creation to the moment `due()` last said yes."""
        return count / max(self.last - self.started, 1e-9)


def reporting(
    items: Iterable[T],
    report: Callable[[int, float], None],
    every_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[T]:
    """Yield `items` unchanged; call `report(count, per_second)` every `every_seconds`."""
    every = Every(every_seconds, clock)
    for count, item in enumerate(items, start=1):
        if every.due():
            report(count, every.rate(count))
        yield item
