"""State API benchmark: freshness (log append -> visible in the learner state, while the
projector runs) and read latency at a fixed request rate from a separate process, over HTTP
(`learnstream serve`, with a bearer token) and through LearnerStateClient. Baselines in the
same run: /healthz over HTTP (no database), the same state read from a server that requires
no token (the cost of authentication), from one that looks the token up on every request
(token cache off), and `SELECT 1` through the same pool. The three servers run side by side
with the access log off. Writes bench/results/<out>.{json,md} (default state_api).

    python -m bench.state_api [--rate 100] [--seconds 10] [--fresh 100] [--out state_api]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo
from rich.console import Console

from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learnstream.contracts import AssessmentSubmitted, AssessmentSubmittedPayload
from learnstream.db import connect, libpq_url, migrate
from learnstream.settings import Settings

_HERE = Path(__file__).resolve().parent

RESULTS = Path(__file__).resolve().parent / "results"
DB = "ls_bench_state_api"
#: The server with a token and its default cache; +1: token looked up on every request;
#: +2: no token required.
PORT = 8097
LOOKUP_PORT = PORT + 1
OPEN_PORT = PORT + 2


def _settings() -> Settings:
    base = Settings()
    url = make_conninfo(libpq_url(base.resolved_database_url), dbname=DB)
    from testing.databases import to_url

    return base.model_copy(update={"database_url": to_url(url)})


def _fresh_database(base: Settings) -> Settings:
    admin = make_conninfo(libpq_url(base.resolved_database_url), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    settings = _settings()
    migrate(settings)
    return settings


def _load(settings: Settings, learners: int, days: int) -> list[str]:
    from simulator import Simulation, SimulationConfig

    sim = Simulation(SimulationConfig(learners=learners, days=days, seed=5,
                                      start=datetime(2025, 1, 1, tzinfo=UTC)))
    events = list(sim.events())
    with connect(settings) as conn:
        for i in range(0, len(events), 2000):
            append_batch(conn, [(e, SourceOffset("bench", 0, i + j))
                                for j, e in enumerate(events[i:i + 2000])])
    return sorted({e.learner_id or e.session_id for e in events
                   if e.event_type == "assessment.submitted"})


def _projector(stop: Any) -> None:
    import threading

    from learner_model.projection import LearnerModelProjection
    from projections.runner import run_projections

    event = threading.Event()

    def relay() -> None:
        stop.wait()
        event.set()

    threading.Thread(target=relay, daemon=True).start()
    run_projections(_settings(), [LearnerModelProjection()], stop=event)


def _pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs) * 1000
    return {"n": len(xs), "p50_ms": float(np.percentile(a, 50)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())}


def _fixed_rate(call: Any, rate: float, seconds: float) -> list[float]:
    """Issue calls on a fixed schedule; latency is measured from the scheduled time, so a
    slow call also charges the calls it delays (no coordinated omission)."""
    out = []
    interval = 1.0 / rate
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        due = start + i * interval
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        call(i)
        out.append(time.perf_counter() - due)
    return out


def serve_open(port: int) -> None:
    """The state API without authentication (this benchmark's baseline only)."""
    from learner_model.serving.service import bind, run

    run(_settings(), bind("127.0.0.1", port), lambda url: None, require_token=False)


def _reader(learners: list[str], token: str, rate: float, seconds: float, queue: Any) -> None:
    import httpx

    from learner_model.serving.client import LearnerStateClient

    rng = random.Random(1)
    res: dict[str, Any] = {}
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", headers=auth) as http, \
            httpx.Client(base_url=f"http://127.0.0.1:{OPEN_PORT}") as open_http, \
            httpx.Client(base_url=f"http://127.0.0.1:{LOOKUP_PORT}", headers=auth) as lookup:
        for warm in (http, open_http, lookup):
            for _ in range(50):
                warm.get(f"/v1/learners/{rng.choice(learners)}/state").raise_for_status()
        res["http_healthz"] = _pct(_fixed_rate(lambda i: http.get("/healthz"), rate, seconds))
        # The three variants of the same read take turns on one fixed schedule, so the
        # load of a shared machine falls on each alike: request i goes to variant i % 3.
        variants = {"http_state": http, "http_state_no_auth": open_http,
                    "http_state_token_lookup_each_request": lookup}
        order = list(variants)
        times: dict[str, list[float]] = {name: [] for name in order}

        def one_of_three(i: int) -> None:
            client = variants[order[i % 3]]
            client.get(f"/v1/learners/{rng.choice(learners)}/state").raise_for_status()

        lat = _fixed_rate(one_of_three, rate, 3 * seconds)
        for i, t in enumerate(lat):
            times[order[i % 3]].append(t)
        for name in order:
            res[name] = _pct(times[name])
        res["http_batch_50"] = _pct(_fixed_rate(
            lambda i: http.post("/v1/learners/states",
                                json={"learner_ids": rng.sample(learners, min(50, len(learners)))}
                                ).raise_for_status(), rate / 4, seconds))
    with LearnerStateClient(_settings()) as client:
        pool = client._pool

        def select1(i: int) -> None:
            with pool.connection() as conn:
                conn.execute("SELECT 1").fetchone()

        res["client_select1"] = _pct(_fixed_rate(select1, rate, seconds))
        res["client_get"] = _pct(_fixed_rate(lambda i: client.get(rng.choice(learners)), rate,
                                             seconds))
    queue.put(res)


def _freshness(settings: Settings, n: int) -> list[float]:
    from learner_model.serving.client import LearnerStateClient

    lags = []
    with connect(settings) as conn, LearnerStateClient(settings) as client:
        for i in range(n):
            lid = f"fresh-{uuid.uuid4().hex[:8]}"
            e = AssessmentSubmitted(
                event_id=uuid.uuid4(), occurred_at=datetime.now(UTC), session_id=lid,
                learner_id=lid, payload=AssessmentSubmittedPayload(
                    assessment_id="q", skills=["s"], score=1, max_score=1, attempt_number=1))
            append_batch(conn, [(e, SourceOffset("fresh", 0, i))])
            t0 = time.perf_counter()
            while client.get(lid).data_points == 0 and time.perf_counter() - t0 < 30:
                time.sleep(0.002)
            lags.append(time.perf_counter() - t0)
            time.sleep(0.02)
    return lags


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--fresh", type=int, default=100)
    ap.add_argument("--learners", type=int, default=150)
    ap.add_argument("--out", default="state_api", help="Results file stem in bench/results.")
    args = ap.parse_args()
    console = Console()
    with console.status("fresh database and simulated log"):
        settings = _fresh_database(Settings())
        learners = _load(settings, args.learners, 7)
    with console.status("model fit and initial projection"):
        from learner_model.model.fit import FitConfig
        from learner_model.projection import LearnerModelProjection
        from learner_model.training import fit_from_log
        from projections.runner import project_until_caught_up

        with connect(settings) as conn:
            params, _, rows = fit_from_log(conn, FitConfig(theta_prior_var=0.05, max_iter=1000))
            conn.commit()
        project_until_caught_up(settings, [LearnerModelProjection()])
        from learner_model.serving.tokens import create_token

        with connect(settings) as conn:
            _, token = create_token(conn, "bench")
    console.log(f"model {params.version} on {rows} answers; {len(learners)} learners")
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    projector = ctx.Process(target=_projector, args=(stop,), daemon=True)
    projector.start()
    env = dict(os.environ, LEARNSTREAM_DATABASE_URL=settings.resolved_database_url,
               LEARNSTREAM_LEARNER_MODEL__ACCESS_LOG="false")
    servers = [
        subprocess.Popen(["learnstream", "serve", "--port", str(PORT)], env=env),
        subprocess.Popen(["learnstream", "serve", "--port", str(LOOKUP_PORT)],
                         env=dict(env, LEARNSTREAM_LEARNER_MODEL__TOKEN_CACHE_SECONDS="0")),
        subprocess.Popen([sys.executable, "-c", "from bench.state_api import serve_open; "
                          f"serve_open({OPEN_PORT})"], env=env, cwd=_HERE.parent),
    ]
    try:
        time.sleep(3)
        with console.status("freshness: append -> visible"):
            fresh = _freshness(settings, args.fresh)
        queue = ctx.Queue()
        with console.status(f"reads at {args.rate:.0f}/s from a separate process"):
            reader = ctx.Process(target=_reader,
                                 args=(learners, token, args.rate, args.seconds, queue))
            reader.start()
            reads = queue.get(timeout=600)
            reader.join()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(10)
        stop.set()
        projector.join(30)
    result = {"freshness": _pct(fresh), "reads": reads, "rate_per_s": args.rate,
              "seconds_per_phase": args.seconds, "learners": len(learners)}
    r = reads
    result["ratios"] = {
        "http_state_p99_over_healthz_p99":
            r["http_state"]["p99_ms"] / r["http_healthz"]["p99_ms"],
        "http_state_p50_over_no_auth_p50":
            r["http_state"]["p50_ms"] / r["http_state_no_auth"]["p50_ms"],
        "http_state_p99_over_no_auth_p99":
            r["http_state"]["p99_ms"] / r["http_state_no_auth"]["p99_ms"],
        "token_lookup_each_request_p50_over_no_auth_p50":
            r["http_state_token_lookup_each_request"]["p50_ms"]
            / r["http_state_no_auth"]["p50_ms"],
        "client_get_p99_over_select1_p99":
            r["client_get"]["p99_ms"] / r["client_select1"]["p99_ms"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2))
    lines = ["| measurement | n | p50 ms | p99 ms | max ms |", "| --- | --- | --- | --- | --- |"]
    lines.append("| freshness: append commit -> visible via client | {n} | {p50_ms:.1f} | "
                 "{p99_ms:.1f} | {max_ms:.1f} |".format(**result["freshness"]))
    for k, v in reads.items():
        lines.append(f"| {k} @ fixed rate | {v['n']} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} | "
                     f"{v['max_ms']:.2f} |")
    lines.append("")
    ratios = {k: round(v, 2) for k, v in result["ratios"].items()}
    lines.append(f"Ratios (same run): {json.dumps(ratios)}")
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    console.print("\n".join(lines))


if __name__ == "__main__":
    main()
