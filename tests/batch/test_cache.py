"""grader.batch.cache: content hashes, cache keys, and cache records (byte layout kept, damaged
records ignored)."""

from __future__ import annotations

import json

from grader.batch.cache import cache_key, entry_content_hash, read_cached, write_cached
from grader.batch.records import CacheRecord


def test_content_hash_depends_on_names_and_bytes():
    a = entry_content_hash({"a.py": b"x"})
    assert a == entry_content_hash({"a.py": b"x"})
    assert a != entry_content_hash({"b.py": b"x"})
    assert a != entry_content_hash({"a.py": b"y"})


def test_cache_key_depends_on_fingerprint_id_and_content():
    k = cache_key("fp", "alice", "h")
    assert len(k) == 64 and k == cache_key("fp", "alice", "h")
    assert len({k, cache_key("fp2", "alice", "h"), cache_key("fp", "bob", "h"), cache_key("fp", "alice", "h2")}) == 4


def test_cache_record_file_layout_is_unchanged(tmp_path):
    """The bytes the batch wrote before records were typed: a cache written then stays valid."""
    doc = {"schema_version": 1, "status": "passed", "score": 1.5, "problems": []}
    rec = CacheRecord(key="k" * 64, id="alice", entry="alice.py", error="", doc=doc)
    legacy = json.dumps({"format": 1, "key": "k" * 64, "id": "alice", "entry": "alice.py", "error": "", "doc": doc},
                        allow_nan=False, default=str)
    assert rec.to_json() == legacy
    path = write_cached(tmp_path, rec)
    assert path == tmp_path / f"{'k' * 64}.json" and path.read_text(encoding="utf-8") == legacy
    assert read_cached(tmp_path, "k" * 64) == rec


def test_damaged_or_missing_cache_records_are_ignored(tmp_path):
    assert read_cached(tmp_path, "none") is None
    for i, text in enumerate(["{not json", "[1, 2]", '{"id": "x"}', '{"doc": null}', '{"doc": {}, "format": []}']):
        (tmp_path / f"bad{i}.json").write_text(text)
        assert read_cached(tmp_path, f"bad{i}") is None, text
    (tmp_path / "old.json").write_text('{"doc": {"status": "failed"}}')  # fields missing: defaults
    assert read_cached(tmp_path, "old").doc == {"status": "failed"}
