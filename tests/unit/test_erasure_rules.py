"""Erasure pieces that need no server: the hash, the needles, ingest's suppression rule,
the lock number the migration and ingest share, and the warehouse rewrite's crash safety."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import warehouse.erasure as werasure
from ingest.suppression import drop_suppressed
from learnstream.log import erasure
from tests.examples import example
from tests.unit.test_warehouse_logic import T0, History
from warehouse.erasure import erase_from_warehouse
from warehouse.export import Manifest
from warehouse.layout import WarehouseLayout, write_parquet_durably

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0011_erasure.py"


def test_subject_hash_is_stable_prefixed_and_hides_the_id() -> None:
    h = erasure.subject_hash("learner-1")
    assert h == erasure.subject_hash("learner-1") != erasure.subject_hash("learner-2")
    assert len(h) == 64 and "learner" not in h
    import hashlib

    assert h != hashlib.sha256(b"learner-1").hexdigest()  # the prefix is in


def test_needles_are_json_strings_in_both_spellings() -> None:
    needles = erasure.json_needles(["a1", "é-1"])
    assert b'"a1"' in needles and '"é-1"'.encode() in needles and b'"\\u00e9-1"' in needles
    assert json.dumps({"learner_id": "a12"}).encode().find(b'"a1"') == -1


def test_the_migration_takes_the_lock_ingest_takes() -> None:
    spec = importlib.util.spec_from_file_location("m0011", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.SUPPRESSION_LOCK == erasure.SUPPRESSION_LOCK
    assert str(erasure.SUPPRESSION_LOCK) in erasure.LOCK_AND_COUNT_SUPPRESSIONS


def test_suppression_drops_the_learner_and_the_anonymous_rows_of_their_sessions() -> None:
    hashes = frozenset({erasure.subject_hash("gone"), erasure.subject_hash("their-session")})
    events = [
        (example("playback.heartbeat", learner_id="gone", session_id="new"), 0),
        (example("playback.heartbeat", learner_id=None, session_id="their-session"), 1),
        (example("playback.heartbeat", learner_id="other", session_id="their-session"), 2),
        (example("playback.heartbeat", learner_id=None, session_id="elsewhere"), 3),
    ]
    kept, dropped = drop_suppressed(events, hashes)
    assert dropped == 2 and [i for _, i in kept] == [2, 3]
    assert drop_suppressed(events, frozenset()) == (events, 0)


def _warehouse(tmp_path: Path) -> WarehouseLayout:
    h = History()
    for day in range(3):
        at = T0 + timedelta(days=day)
        h.add("playback.heartbeat", at=at, learner_id="gone", session_id="s-gone")
        h.add("playback.heartbeat", at=at, learner_id=None, session_id="s-gone")
        h.add("playback.heartbeat", at=at, learner_id="kept", session_id="s-kept")
    layout = h.write(tmp_path / "wh")
    Manifest(rows=9, batches=1).save(layout)
    return layout


def _rows(layout: WarehouseLayout) -> list[tuple[object, object]]:
    return sorted(
        (r["learner_id"] or "", r["session_id"])
        for p in layout.part_files() for r in pq.read_table(p).to_pylist()
    )


def test_a_crash_mid_rewrite_leaves_whole_files_and_a_rerun_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = _warehouse(tmp_path)
    assert len(layout.part_files()) == 3
    dry = erase_from_warehouse(layout, ["gone"], ["s-gone"], dry_run=True)
    assert [f.rows_removed for f in dry] == [2, 2, 2] and len(_rows(layout)) == 9

    calls = 0

    def crash_on_second(path: Path, table: pa.Table) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("power cut")
        write_parquet_durably(path, table)

    monkeypatch.setattr(werasure, "write_parquet_durably", crash_on_second)
    with pytest.raises(OSError, match="power cut"):
        erase_from_warehouse(layout, ["gone"], ["s-gone"])
    monkeypatch.undo()
    # Each file is whole: the first rewritten, the others as they were.
    assert len(_rows(layout)) == 7
    assert not list(layout.root.rglob(".*.tmp"))

    again = erase_from_warehouse(layout, ["gone"], ["s-gone"])
    assert len(again) == 2
    assert _rows(layout) == [("kept", "s-kept")] * 3
    assert Manifest.load(layout).rows == 3
    assert erase_from_warehouse(layout, ["gone"], ["s-gone"]) == []


def test_report_files_naming_the_learner_are_removed(tmp_path: Path) -> None:
    layout = _warehouse(tmp_path)
    layout.reports.mkdir(parents=True)
    (layout.reports / "report.html").write_text("<td>gone</td>")
    (layout.reports / "other.html").write_text("<td>kept</td>")
    changed = erase_from_warehouse(layout, ["gone"], ["s-gone"])
    assert "reports/report.html" in [f.path for f in changed]
    assert not (layout.reports / "report.html").exists()
    assert (layout.reports / "other.html").exists()
