from lse_assets.core.findings import (
    SAMPLE_SIZE,
    Discrepancies,
    from_metadata,
    is_sample_key,
    sample_key,
    to_metadata,
)


def test_a_sample_keeps_the_first_ids_and_the_count_all_of_them():
    found = Discrepancies.of(f"run-{n}" for n in range(SAMPLE_SIZE + 5))
    assert found.count == SAMPLE_SIZE + 5
    assert found.sample == [f"run-{n}" for n in range(SAMPLE_SIZE)]


def test_findings_written_as_metadata_read_back_the_same():
    found = {"differing": Discrepancies.of(["a", "b"]), "unreadable": Discrepancies()}
    metadata = to_metadata(found)
    # A kind without findings has its count and no sample key.
    assert metadata == {"differing": 2, sample_key("differing"): ["a", "b"], "unreadable": 0}
    counts, samples = from_metadata({**metadata, "files": 7, "ok": True, "url": "http://x"})
    assert counts == {"differing": 2, "unreadable": 0, "files": 7}
    assert samples == {"differing": ["a", "b"]}
    assert is_sample_key(sample_key("x")) and not is_sample_key("x")


def test_only_sample_keys_are_read_back_as_samples():
    # A check's metadata holds other lists (stale copies removed, tags): not findings.
    counts, samples = from_metadata({"stale_removed": ["a/b.parquet"], "differing_sample": ["r"]})
    assert samples == {"differing": ["r"]} and counts == {}
