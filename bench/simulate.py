"""How fast does `learnstream simulate` generate events?

Measures, in one run: (a) generation only (iterate the events), (b) generation plus wire
encoding (what the JSONL writer does), and a baseline measured here too: building and
encoding the same number of playback.heartbeat events directly, the cheapest possible valid
event (the floor set by pydantic validation and orjson). Ratios to that floor are what to
compare across machines.

    python -m bench.simulate [--learners 2000] [--days 14]

Writes bench/results/simulate.json and bench/results/simulate.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from learnstream.contracts import (
    ContentCharacteristics,
    PlaybackHeartbeat,
    PlaybackPayload,
    encode_event,
)
from simulator import Simulation, SimulationConfig

RESULTS = Path(__file__).parent / "results"
START = datetime(2025, 3, 3, tzinfo=UTC)


def generate(config: SimulationConfig, encode: bool) -> tuple[int, float, int]:
    started = time.perf_counter()
    count = size = 0
    for event in Simulation(config).events():
        count += 1
        if encode:
            size += len(encode_event(event)) + 1
    return count, time.perf_counter() - started, size


def floor(count: int) -> float:
    """Seconds to build and encode ``count`` minimal valid events directly."""
    characteristics = ContentCharacteristics(format="podcast", genre="travel", topic="food")
    started = time.perf_counter()
    for i in range(count):
        encode_event(PlaybackHeartbeat(
            event_id=uuid.UUID(int=i, version=4),
            occurred_at=START,
            session_id="s",
            content_id="c",
            payload=PlaybackPayload(playback_position=float(i % 600), duration=600.0,
                                    content_characteristics=characteristics),
        ))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = SimulationConfig(learners=args.learners, days=args.days, seed=args.seed, start=START)
    count, gen_seconds, _ = generate(config, encode=False)
    _, enc_seconds, size = generate(config, encode=True)
    floor_seconds = floor(count)
    result: dict[str, object] = {
        "command": f"python -m bench.simulate --learners {args.learners} --days {args.days}",
        "machine": platform.platform(),
        "python": platform.python_version(),
        # 2 shared cores: other work running at the same time shows up here, not in ratios.
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "events": count,
        "jsonl_bytes": size,
        "generate_events_per_s": round(count / gen_seconds),
        "generate_and_encode_events_per_s": round(count / enc_seconds),
        "floor_build_and_encode_events_per_s": round(count / floor_seconds),
        "ratio_generate_and_encode_to_floor": round(floor_seconds / enc_seconds, 3),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "simulate.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "simulate.md").write_text(
        "# simulate benchmark\n\n"
        f"`{result['command']}` on {result['machine']}, Python {result['python']}\n\n"
        "| measure | value |\n| --- | ---: |\n"
        + "".join(f"| {k} | {v:,} |\n" for k, v in result.items() if isinstance(v, int | float))
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
