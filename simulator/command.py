"""The body of ``learnstream simulate``: run, write JSONL or produce to Kafka, show progress,
write the ground truth, print a summary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from learnstream.contracts import Envelope
from simulator.config import SimulationConfig, default_start
from simulator.runner import Simulation
from simulator.sinks import EventSink, write_jsonl
from simulator.summary import summary_table
from simulator.truth import write_truth


def parse_start(text: str | None, days: int) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC), or by default ``days`` days before today."""
    if not text:
        return default_start(days)
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


def default_truth_path(out: Path | None, seed: int) -> Path:
    """Next to the output file (``events.jsonl`` -> ``events.truth.json``)."""
    if out is None:
        return Path(f"simulation-{seed}.truth.json")
    return out.with_name(f"{out.stem}.truth.json")


def run(
    config: SimulationConfig,
    *,
    out: Path | None,
    truth: Path | None,
    sink: EventSink | None,
    sink_name: str = "Kafka",
    console: Console,
) -> Simulation:
    """Run ``config`` into ``out`` (JSONL) and/or ``sink``; return the finished simulation.
    With neither, events go to ``events.jsonl``."""
    if out is None and sink is None:
        out = Path("events.jsonl")
    simulation = Simulation(config)
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days  {task.fields[events]:,} events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("simulate", total=config.days, events=0)

        def tracked(events: Iterator[Envelope]) -> Iterator[Envelope]:
            for n, event in enumerate(events, 1):
                if n % 5000 == 0:
                    progress.update(task, completed=simulation.stats.days_simulated, events=n)
                yield event
            progress.update(task, completed=config.days)

        events = tracked(simulation.events())
        if sink is None:
            assert out is not None
            write_jsonl(events, out)
        else:
            sink(_tee_to_file(events, out) if out else events)
    seconds = time.perf_counter() - started
    truth_path = write_truth(simulation.truth(), truth or default_truth_path(out, config.seed))
    console.print(summary_table(simulation.stats, seconds))
    if out is not None:
        console.print(f"events: {out}")
    if sink is not None:
        console.print(f"events: sent to {sink_name}")
    console.print(f"ground truth: {truth_path}")
    return simulation


def _tee_to_file(events: Iterator[Envelope], path: Path) -> Iterator[Envelope]:
    from learnstream.contracts import encode_event

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb", buffering=1 << 20) as file:
        for event in events:
            file.write(encode_event(event) + b"\n")
            yield event
