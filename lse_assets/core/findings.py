"""What a comparison found: a count per kind of discrepancy and the first few ids of each.

One type (Discrepancies), one sample size, and one way to write findings as check metadata
(`<kind>` = the count, `<kind>_sample` = the sample ids) and to read them back, for the
checks that write them, the alerts that quote them and `lse verify` that prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SAMPLE_SIZE = 20  # ids kept per kind: enough to start looking, small enough for metadata
_SAMPLE_SUFFIX = "_sample"


@dataclass
class Discrepancies:
    count: int = 0
    sample: list[str] = field(default_factory=list)

    def add(self, item: str) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(item)

    @classmethod
    def of(cls, items: Iterable[str]) -> Discrepancies:
        found = cls()
        for item in items:
            found.add(item)
        return found


def sample_key(kind: str) -> str:
    """The metadata key of `kind`'s sample ids."""
    return f"{kind}{_SAMPLE_SUFFIX}"


def is_sample_key(key: str) -> bool:
    return key.endswith(_SAMPLE_SUFFIX)


def to_metadata(found: Mapping[str, Discrepancies]) -> dict[str, int | list[str]]:
    """A count per kind, and its sample ids where there are any."""
    metadata: dict[str, int | list[str]] = {}
    for kind, discrepancies in found.items():
        metadata[kind] = discrepancies.count
        if discrepancies.sample:
            metadata[sample_key(kind)] = list(discrepancies.sample)
    return metadata


def from_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, list[str]]]:
    """(numbers by key, sample ids by kind) from a check's metadata values."""
    counts: dict[str, float] = {}
    samples: dict[str, list[str]] = {}
    for key, value in metadata.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            counts[key] = value
        elif is_sample_key(key) and isinstance(value, list):
            samples[key.removesuffix(_SAMPLE_SUFFIX)] = [str(item) for item in value]
    return counts, samples
