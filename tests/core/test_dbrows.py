"""What db_runs sends the database, without a database: each run file's bytes as they are,
in the order asked, the NUL rule applied only where a file holds an escaped U+0000, and a
tally of rows, file bytes and the runs the rule changed (the load's metadata)."""

import json
from datetime import date

from lse_assets.core import dbrows
from lse_assets.core.findings import SAMPLE_SIZE
from lse_assets.core.runfiles import PartitionPaths

PLAIN = b'{"id": "r-plain", "outputs": {"text": "ok"}}\n'
WITH_NUL = b'{"id": "r-nul", "outputs": {"te\\u0000xt": "bin\\u0000ary"}}\n'
# An escaped backslash before "u0000" is no NUL, but the bytes hold the escape's text.
LOOKALIKE = b'{"id": "r-look", "note": "\\\\u0000"}\n'


def _partition(tmp_path, files: dict[str, bytes]) -> PartitionPaths:
    paths = PartitionPaths(tmp_path, "proj-a", date(2025, 9, 13))
    paths.runs_dir.mkdir(parents=True)
    for run_id, raw in files.items():
        (paths.runs_dir / f"{run_id}.json").write_bytes(raw)
    return paths


def test_documents_go_in_the_order_asked_with_the_nul_rule_and_the_tally(tmp_path):
    paths = _partition(tmp_path, {"r-plain": PLAIN, "r-nul": WITH_NUL, "r-look": LOOKALIKE})
    tally = dbrows.LoadTally()

    documents = list(dbrows.documents_for_load(paths, ["r-nul", "r-plain", "r-look"], tally))

    assert [run_id for run_id, _ in documents] == ["r-nul", "r-plain", "r-look"]
    sent = dict(documents)
    assert sent["r-plain"] == PLAIN  # no NUL: the file's own bytes, not re-encoded
    assert json.loads(sent["r-look"]) == {"id": "r-look", "note": "\\u0000"}
    assert json.loads(sent["r-nul"]) == {"id": "r-nul", "outputs": {"te\ufffdxt": "bin\ufffdary"}}
    assert (tally.rows, tally.bytes) == (3, len(PLAIN) + len(WITH_NUL) + len(LOOKALIKE))
    assert (tally.normalized.count, tally.normalized.sample) == (1, ["r-nul"])


def test_the_tally_counts_each_row_as_it_is_sent_not_before(tmp_path):
    paths = _partition(tmp_path, {"r-plain": PLAIN, "r-nul": WITH_NUL})
    tally = dbrows.LoadTally()
    documents = dbrows.documents_for_load(paths, ["r-plain", "r-nul"], tally)

    assert (tally.rows, tally.bytes) == (0, 0)
    next(documents)
    assert (tally.rows, tally.bytes, tally.normalized.count) == (1, len(PLAIN), 0)


def test_every_normalized_run_is_counted_and_a_sample_of_them_named(tmp_path):
    ids = [f"r{n:02d}" for n in range(SAMPLE_SIZE + 3)]
    paths = _partition(tmp_path, {run_id: WITH_NUL for run_id in ids})
    tally = dbrows.LoadTally()

    list(dbrows.documents_for_load(paths, ids, tally))

    assert tally.normalized.count == len(ids)
    assert tally.normalized.sample == ids[:SAMPLE_SIZE]


def test_a_fresh_tally_starts_at_zero_and_owns_its_findings():
    first, second = dbrows.LoadTally(), dbrows.LoadTally()
    first.normalized.add("r1")
    assert (second.rows, second.bytes, second.normalized.count) == (0, 0, 0)
