"""The pure parts of bench.log_growth: --sizes, the ids it gives fresh events, the table."""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from bench.log_growth import TABLE, parse_sizes, render, uuid7, with_new_ids


def test_sizes_are_sorted_distinct_and_take_k_and_m() -> None:
    assert parse_sizes("50M, 0,10000000,10m,200k") == [0, 200_000, 10_000_000, 50_000_000]


@pytest.mark.parametrize("text", ["", "10,-5", "1.5M", "ten", "10G"])
def test_a_size_that_is_not_a_row_count_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="--sizes"):
        parse_sizes(text)


def test_uuid7_is_version_7_and_sorts_by_time() -> None:
    rng = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ids = [uuid7(start + timedelta(milliseconds=i), rng) for i in range(200)]
    assert {u.version for u in ids} == {7}
    assert {u.variant for u in ids} == {"specified in RFC 4122"}
    assert ids == sorted(ids, key=lambda u: u.bytes)  # PostgreSQL compares uuids bytewise
    assert int(ids[0].hex[:12], 16) == int(start.timestamp() * 1000)


@pytest.mark.parametrize("kind, version", [("v4", 4), ("v7", 7)])
def test_new_ids_change_only_the_event_id(kind: str, version: int) -> None:
    wire = {"event_id": "00000000-0000-4000-8000-000000000000", "learner_id": "l-1",
            "occurred_at": "2025-01-01T00:00:05+00:00"}
    messages = [("learnstream.behavior", b"l-1", orjson.dumps(wire))] * 3
    out = with_new_ids(messages, kind, random.Random(2))
    decoded = [orjson.loads(value) for _, _, value in out]
    assert len({d["event_id"] for d in decoded}) == 3
    assert all(d["event_id"][14] == str(version) for d in decoded)
    assert all({**d, "event_id": wire["event_id"]} == wire for d in decoded)
    assert [(t, k) for t, k, _ in out] == [(t, k) for t, k, _ in messages]


def _step(size: int, ids: str, ingest: tuple[float, float],
          behavioral: tuple[float, float]) -> dict[str, Any]:
    indexes = {f"{TABLE}_event_id_key": size * 30, f"{TABLE}_pkey": size * 20}

    def written(rate: float) -> dict[str, Any]:
        return {"events_per_s": rate * 1.1, "behavioral_events_per_s": rate,
                "wal_bytes_per_event": 2048, "method": "copy", "batch": 2000}

    return {
        "size": size, "ids": ids, "preload": None,
        "before": {"rows": size, "table_bytes": size * 200, "index_bytes": indexes,
                   "indexes_total_bytes": sum(indexes.values())},
        "ingest": {"events_per_s": ingest[0]}, "ingest_empty": {"events_per_s": ingest[1]},
        "ingest_ratio": ingest[0] / ingest[1],
        "write_path": written(behavioral[0]), "write_path_empty": written(behavioral[1]),
        "write_path_rounds": [behavioral[0]], "write_ratio": behavioral[0] / behavioral[1],
        "load_average": [1.0, 2.0],
    }


def test_render_states_the_command_and_the_ratios_to_the_empty_log() -> None:
    result = {
        "command": "python -m bench.log_growth --sizes 0,50M",
        "measured_at": "2026-12-03T15:00:00+00:00",
        "machine": {"cpus": 2, "ram_bytes": 24 * 2**30, "shared_buffers_bytes": 512 * 2**20},
        "events": 1000,
        "steps": [_step(0, "v4", (8000.0, 8000.0), (30000.0, 30000.0)),
                  _step(50_000_000, "v4", (2000.0, 8000.0), (6000.0, 30000.0))],
        "uuid7_at_largest": _step(50_000_000, "v7", (7200.0, 8000.0), (27000.0, 30000.0)),
    }
    md = render(result)
    assert "`python -m bench.log_growth --sizes 0,50M`" in md
    rows = [line for line in md.splitlines() if line.startswith("| 50M |")]
    assert len(rows) == 3  # the v4 and v7 rows, the v4 row of the sizes table
    v4, v7 = (next(r for r in rows if f"| {ids} |" in r) for ids in ("v4", "v7"))
    assert "| **0.25** |" in v4 and "| **0.20** |" in v4  # 2000/8000, 6000/30000
    assert v7.count("| **0.90** |") == 2  # 7200/8000, 27000/30000
    assert "| 1,431 MiB |" in v4  # the event_id index, 50M * 30 bytes
