"""Should the collector correct ``occurred_at`` by the client's clock skew? Measured on the
simulator's data. Writes bench/results/collector_skew.{json,md}.

    python -m bench.collector_skew [--learners 300] [--days 7] [--seed 3]

The simulator's ``occurred_at`` is the true time. A client model turns it into what an app
would send: each device (learner or anonymous session, and its context) has a clock offset
(the model below), events are flushed per session in batches of up to 20 or after 10 s, 3 %
of batches wait offline (seconds to hours, the simulator's own delay model), a batch
carries ``sent_at`` from the device clock, and reaches the collector after a network
latency. Two policies are compared on the same batches:

- **keep** (what the collector does, Snowplow's way): store the client's ``occurred_at``,
  record ``sent_at`` and ``clock_skew_ms`` beside it;
- **correct** (Segment's way): ``occurred_at + (received_at - sent_at)``.

Figures: absolute error against the true time; a learner's consecutive events put out of
order; sessions (the kernel's 30-minute rule, per session id) that differ from the truth;
and the share of events whose stored time would differ between two copies of a retried
batch (the same ``event_id`` with another time: the log keeps whichever arrives first).
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bench.publish import publish
from learnstream.log.sessions import SESSION_GAP
from simulator import SimulationConfig, default_start, simulate
from simulator.delivery import offline_delay

BATCH = 20
FLUSH_SECONDS = 10.0
OFFLINE_SHARE = 0.03


def _clock_offset(rng: random.Random) -> float:
    """Seconds a device clock is off: most are synchronised, some drift by minutes, a few
    are hours off (a clock set by hand, a wrong time zone applied to the clock)."""
    x = rng.random()
    if x < 0.90:
        return rng.uniform(-1.0, 1.0)
    if x < 0.98:
        return rng.uniform(-600.0, 600.0)
    return rng.choice((-1, 1)) * rng.uniform(3600.0, 12 * 3600.0)


def _latency(rng: random.Random) -> float:
    """Network latency of one request (mobile): median ~0.2 s, a long tail."""
    return min(30.0, rng.lognormvariate(np.log(0.2), 1.0))


def _sessions(times_by_session: dict[str, list[float]]) -> int:
    gap = SESSION_GAP.total_seconds()
    count = 0
    for times in times_by_session.values():
        ordered = sorted(times)
        count += 1 + sum(1 for a, b in itertools.pairwise(ordered) if b - a > gap)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    config = SimulationConfig(learners=args.learners, days=args.days, seed=args.seed,
                              start=default_start(args.days))
    events = [e for e in simulate(config) if e.topic.value != "learnstream.catalog"]
    rng = random.Random(args.seed)
    offsets: dict[tuple[str, str], float] = {}
    by_session: dict[str, list[Any]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.occurred_at):
        by_session[e.session_id].append(e)
    truth: dict[str, float] = {}
    kept: dict[str, float] = {}
    corrected: dict[str, float] = {}
    retry_differs = 0
    copies = 0  # events as sent (the simulator's duplicates included)
    for session, evs in by_session.items():
        owner = evs[0].learner_id or session
        device = (owner, str(evs[0].context.device_info))
        offset = offsets.setdefault(device, _clock_offset(rng))
        batch: list[Any] = []
        for i, e in enumerate(evs):
            batch.append(e)
            t = e.occurred_at.timestamp()
            nxt = evs[i + 1].occurred_at.timestamp() if i + 1 < len(evs) else None
            if len(batch) < BATCH and nxt is not None and nxt - t < FLUSH_SECONDS:
                continue
            send = t + rng.uniform(0.0, FLUSH_SECONDS)
            if rng.random() < OFFLINE_SHARE:
                send += offline_delay(rng)
            sent_at = send + offset                       # the device clock
            received = send + _latency(rng)               # the server clock (true)
            retry_received = received + 5.0 + _latency(rng)  # the same batch again
            for b in batch:
                true = b.occurred_at.timestamp()
                client = true + offset
                key = str(b.event_id)
                truth[key] = true
                kept[key] = client
                corrected[key] = client + (received - sent_at)
                retry = client + (retry_received - sent_at)
                retry_differs += abs(retry - corrected[key]) > 0.001
                copies += 1
            batch = []

    def figures(stored: dict[str, float]) -> dict[str, Any]:
        errors = np.abs(np.array([stored[k] - truth[k] for k in truth]))
        by_learner: dict[str, list[str]] = defaultdict(list)
        for e in events:
            by_learner[e.learner_id or e.session_id].append(str(e.event_id))
        pairs = flips = 0
        for ids in by_learner.values():
            ids.sort(key=lambda k: truth[k])
            for a, b in itertools.pairwise(ids):
                if truth[a] == truth[b]:
                    continue
                pairs += 1
                flips += stored[a] > stored[b]
        sessions: dict[str, list[float]] = defaultdict(list)
        for e in events:
            sessions[e.session_id].append(stored[str(e.event_id)])
        return {
            "abs_error_p50_s": round(float(np.percentile(errors, 50)), 3),
            "abs_error_p99_s": round(float(np.percentile(errors, 99)), 3),
            "share_off_by_over_1_min": round(float(np.mean(errors > 60)), 4),
            "learner_order_flips": round(flips / pairs, 5),
            "sessions": _sessions(sessions),
        }

    true_sessions: dict[str, list[float]] = defaultdict(list)
    for e in events:
        true_sessions[e.session_id].append(truth[str(e.event_id)])
    result = {
        "command": f"python -m bench.collector_skew --learners {args.learners} "
                   f"--days {args.days} --seed {args.seed}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": len(truth), "devices": len(offsets),
        "true_sessions": _sessions(true_sessions),
        "keep": {**figures(kept), "retry_changes_time": 0.0},
        "correct": {**figures(corrected),
                    "retry_changes_time": round(retry_differs / copies, 4)},
    }
    print(publish("collector_skew", result, _markdown(result)))


def _markdown(r: dict[str, Any]) -> str:
    lines = [
        "### Correcting occurred_at by the clock skew?",
        "",
        f"Command: `{r['command']}` ({r['when']}): {r['events']:,} client events of the "
        f"simulator on {r['devices']:,} devices; {r['true_sessions']:,} true sessions.",
        "",
        "| policy | abs. error p50 s | p99 s | off by > 1 min | a learner's events out of "
        "order | sessions | a retried batch changes the time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("keep", "correct"):
        v = r[name]
        lines.append(f"| {name} | {v['abs_error_p50_s']} | {v['abs_error_p99_s']} | "
                     f"{v['share_off_by_over_1_min']:.2%} | {v['learner_order_flips']:.3%} | "
                     f"{v['sessions']:,} | {v['retry_changes_time']:.1%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
