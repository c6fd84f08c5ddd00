"""Realistic partitions for the benchmarks, written fast.

The sample twin's day (trace trees of CHAIN/LLM/TOOL/RETRIEVER runs, feedback, unicode,
~1 % of runs over 100 KB, some holding U+0000) is cloned with fresh UUIDs until the
partition has `n` runs. Files are written without the per-file fsync of raw_runs: the
benchmarks measure loading and verifying, not durable writing.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from datetime import date
from pathlib import Path

from lse_assets.core import jsondoc, runfiles
from lse_assets.core.runfiles import PartitionPaths
from resources.langsmith.sample import SampleLangSmithResource

DAY = date(2025, 9, 13)
PROJECT = "bench-project"
_VERSION = 3  # bump when the generated runs change, to regenerate cached partitions
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _template() -> list[tuple[str, bytes]]:
    runs = SampleLangSmithResource().fetch_day("bench-template", DAY).runs
    return [(run["id"], jsondoc.canonical_bytes(run)) for run in runs]


def write_partition(
    data_dir: Path, n: int, seed: int = 0, project: str = PROJECT
) -> PartitionPaths:
    """A partition of `n` runs under `data_dir` (reused if it already holds exactly that)."""
    paths = PartitionPaths(data_dir, project, DAY)
    marker = [n, seed, _VERSION]
    if paths.manifest.exists() and json.loads(paths.manifest.read_bytes()).get("bench") == marker:
        return paths
    paths.runs_dir.mkdir(parents=True, exist_ok=True)
    for stale in paths.runs_dir.iterdir():
        stale.unlink()
    rng = random.Random(f"{project}|{seed}")  # distinct partitions never share a run id
    template = _template()
    written = 0
    parents: dict[str, str] = {}
    while written < n:
        mapping: dict[bytes, bytes] = {}

        def fresh(match: re.Match[bytes], mapping: dict[bytes, bytes] = mapping) -> bytes:
            old = match.group(0)
            if old not in mapping:
                mapping[old] = str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode()
            return mapping[old]

        for run_id, raw in template:
            if written == n:
                break
            new_raw = _UUID.sub(fresh, raw)
            new_id = mapping[run_id.encode()].decode()
            paths.run_file(new_id).write_bytes(new_raw)
            parent = runfiles.direct_parent(jsondoc.parse(new_raw))
            if parent:
                parents[new_id] = parent
            written += 1
    manifest = {
        "format": runfiles.FORMAT,
        "project": project,
        "date": DAY.isoformat(),
        "bench": marker,
        "parents": dict(sorted(parents.items())),  # as raw_runs records them
    }
    paths.manifest.write_bytes(jsondoc.canonical_bytes(manifest))
    return paths
