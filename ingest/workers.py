"""``learnstream ingest --workers N``: N consumer processes of the same groups, one command.

Why processes and not threads: decoding (pydantic) and row building are Python work under
one interpreter lock, and they are most of ingest's CPU time; N processes use N cores. They
are ordinary members of the per-topic consumer groups, exactly as N machines would be
(docs/ingest.md, "Running several workers"): the group splits each topic's partitions among
them, each commits its own offsets after its own database commit, and the log's idempotent
append covers the redeliveries a rebalance causes. A topic's partition count is the most
workers that can share it; extra workers stand by.

Each worker gets its own static-membership name, ``<instance_id or host name>-<index>``:
two live members must never share one, and a worker restarted by this command must come
back under the same name to take its partitions back at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from ingest.errors import ConsumerFailed
from ingest.summary import IngestSummary, merge_summaries
from learnstream.settings import Settings

log = logging.getLogger("learnstream.ingest")

#: How long a stopping worker may take before it is killed (its batch in flight is
#: uncommitted then, and redelivered: safe). Above the consumer's own graceful timeout.
STOP_TIMEOUT_S = 45.0


def worker_instance_id(settings: Settings, index: int) -> str:
    """The static-membership name of worker ``index`` of this command."""
    return f"{settings.ingest.instance_id or socket.gethostname()}-{index}"


def worker_settings(settings: Settings, index: int) -> Settings:
    """``settings`` as worker ``index`` runs with them (its own member name)."""
    return settings.with_part(ingest={"instance_id": worker_instance_id(settings, index)})


@dataclass(frozen=True, slots=True)
class _WorkerResult:
    index: int
    summary: IngestSummary | None
    error: str | None


def _worker_main(
    settings: Settings, index: int, until_idle: float | None,
    results: multiprocessing.connection.Connection,
) -> None:
    # A child of the spawn context: a fresh interpreter that imports only this stage.
    import anyio

    from ingest.logs import configure_logging
    from ingest.runner import run_ingest

    configure_logging()
    # Ctrl-C reaches every process of the terminal's group; the parent turns it into one
    # SIGTERM per worker, so each worker finishes its batch once rather than twice.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A stop that comes before the consumer installs its own handler: nothing was consumed,
    # so a clean exit (the parent reads exit code 0 without a summary as an empty one).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mine = worker_settings(settings, index)
    try:
        summary = anyio.run(lambda: run_ingest(mine, until_idle=until_idle))
    except SystemExit:
        raise
    except BaseException as exc:
        results.send(_WorkerResult(index, None, f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None
    results.send(_WorkerResult(index, summary, None))


def run_workers(
    settings: Settings,
    workers: int,
    *,
    until_idle: float | None = None,
    on_start: Callable[[list[str]], None] | None = None,
) -> IngestSummary:
    """Run ``workers`` ingest processes until they stop; return their merged summary.

    SIGTERM or SIGINT to this process stops every worker gracefully (each commits its batch
    in flight). A worker that fails stops the others, and :class:`ConsumerFailed` names it.
    """
    context = multiprocessing.get_context("spawn")
    started_at = time.monotonic()
    pipes: list[multiprocessing.connection.Connection] = []
    processes: list[BaseProcess] = []
    for index in range(workers):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker_main, args=(settings, index, until_idle, send),
            name=f"ingest-worker-{index}", daemon=False,
        )
        process.start()
        send.close()  # the child holds the sending end; EOF here once it exits
        pipes.append(receive)
        processes.append(process)
    names = [worker_instance_id(settings, i) for i in range(workers)]
    log.info("ingest workers started", extra={
        "workers": workers, "instance_ids": names, "pids": [p.pid for p in processes]})
    if on_start is not None:
        on_start(names)

    stopping = [False]

    def stop_all(*_: Any) -> None:
        stopping[0] = True
        for child in processes:
            if child.is_alive() and child.pid is not None:
                child.terminate()  # SIGTERM: the worker's graceful stop

    previous = {sig: signal.signal(sig, stop_all) for sig in (signal.SIGTERM, signal.SIGINT)}
    results: dict[int, _WorkerResult] = {}
    failed: list[_WorkerResult] = []  # in the order they failed: the first is the cause
    try:
        pending = dict(enumerate(pipes))
        while pending:
            ready = multiprocessing.connection.wait(list(pending.values()), timeout=0.5)
            for index, pipe in list(pending.items()):
                if pipe not in ready:
                    continue
                try:
                    result: _WorkerResult = pipe.recv()
                except EOFError:  # stopped before it started, or died without a word
                    processes[index].join(STOP_TIMEOUT_S)
                    code = processes[index].exitcode
                    result = (_WorkerResult(index, IngestSummary(), None) if code == 0 else
                              _WorkerResult(index, None, f"exited with code {code} "
                                                         "without a summary"))
                results[index] = result
                del pending[index]
                if result.error is not None:
                    failed.append(result)
                    if not stopping[0]:
                        log.error("ingest worker failed; stopping the others",
                                  extra={"worker": names[index], "error": result.error})
                        stop_all()
        for child in processes:
            child.join(STOP_TIMEOUT_S)
            if child.is_alive():
                child.kill()
                child.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        first = failed[0]
        raise ConsumerFailed(f"ingest worker {names[first.index]} failed: {first.error}")
    return merge_summaries([r.summary for r in results.values() if r.summary], started_at)


__all__ = ["run_workers", "worker_instance_id", "worker_settings"]
