"""`learnstream simulate` writes JSONL and ground truth; the package's public API."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

import simulator
from app.cli import app
from learnstream.contracts import decode_event
from simulator import load_truth


def test_simulate_writes_jsonl_and_truth_next_to_it(tmp_path: Path) -> None:
    out = tmp_path / "run" / "events.jsonl"
    args = ["simulate", "--learners", "8", "--days", "2", "--seed", "3",
            "--start", "2025-03-03", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    events = [decode_event(line) for line in lines]
    assert {e.event_type for e in events} >= {"content.generated", "playback.started"}
    emitted = re.search(r"events emitted\D+([\d,]+)", result.output)
    assert emitted and int(emitted.group(1).replace(",", "")) == len(lines)
    truth = load_truth(tmp_path / "run" / "events.truth.json")
    assert truth.config.seed == 3 and len(truth.learners) == 8
    # Same arguments, same bytes.
    again = tmp_path / "again.jsonl"
    args[-1] = str(again)
    assert CliRunner().invoke(app, [*args, "--truth", str(tmp_path / "t.json")]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    assert (tmp_path / "t.json").exists()


def test_simulate_rejects_bad_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--learners", "0", "--out", str(tmp_path / "x.jsonl")]
    )
    assert result.exit_code != 0
    assert not (tmp_path / "x.jsonl").exists()


def test_public_api() -> None:
    assert sorted(simulator.__all__) == [
        "ContentTruth", "CourseTruth", "DeliveryStats", "EventSink", "GroundTruth", "ItemTruth",
        "LearnerTruth", "PreferenceWeights", "Simulation", "SimulationConfig", "SimulationStats",
        "default_start", "load_truth", "simulate", "write_jsonl", "write_truth",
    ]
    assert all(hasattr(simulator, name) for name in simulator.__all__)
