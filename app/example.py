"""``learnstream demo --serve-example``: the JavaScript client's example page
(``clients/js/examples/player.html``) against the demo's pipeline, until Ctrl-C.

In one process: a fresh write key for the client-side families, the collector (allowing
the page's origin), ingest (so the page's events reach the log while it runs) and a static
server for the page and the compiled client. The page's address carries the collector's
endpoint and the key in its query, which is where the page reads them, so nothing is edited
by hand. Ctrl-C (or SIGTERM) stops the collector first, lets ingest take what Kafka still
holds, revokes the key (each run makes its own) and returns what happened.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import posixpath
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import anyio
import uvicorn
from rich.console import Console

from collector import Collector, create_app, create_key, revoke_keys
from ingest.runner import run_ingest
from learnstream.db import connect
from learnstream.errors import LearnstreamError
from learnstream.settings import Settings

#: clients/js: the example page and the compiled client it imports (``../dist/index.js``).
JS_DIR = Path(__file__).resolve().parent.parent / "clients" / "js"
#: The example page, relative to :data:`JS_DIR`.
PAGE = "examples/player.html"
#: The only folders of :data:`JS_DIR` the static server answers for.
SERVED = ("examples", "dist")
#: The app name of the example's write keys (``learnstream keys list --app demo-example``).
EXAMPLE_APP = "demo-example"
#: A browser key gets the client-side families only (docs/sending-events.md): the page's
#: "Log in" sends ``learner.identified``, a catalog event, and shows it come back forbidden.
CLIENT_FAMILIES = ("behavior", "likes", "activity", "learning")


@dataclass(frozen=True, slots=True)
class ExampleSummary:
    """What the collector and ingest did while the page was served."""

    url: str
    #: Events the collector accepted (a batch sent twice, by a beacon then a reload, counts
    #: twice here and once in the log).
    accepted: int
    rejected: int
    forbidden: int
    #: New rows in the log, and events ingest found there already.
    ingested: int
    duplicates: int


def client_built() -> bool:
    """Whether ``clients/js/dist`` holds the compiled client (``scripts/js-setup.sh``)."""
    return (JS_DIR / "dist" / "index.js").is_file()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, page_url: str, **kwargs: Any) -> None:
        self.page_url = page_url
        super().__init__(*args, directory=str(JS_DIR), **kwargs)

    def send_head(self) -> Any:
        path = self.path.split("?", 1)[0]
        if path in ("", "/"):  # the bare address leads to the page, endpoint and key included
            self.send_response(302)
            self.send_header("Location", self.page_url)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        # node_modules, src and the rest of clients/js are nobody's business; checked on the
        # path as translate_path will read it (unquoted, dot segments resolved)
        if posixpath.normpath(unquote(path)).lstrip("/").split("/", 1)[0] not in SERVED:
            self.send_error(404)
            return None
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _static_server(sock: socket.socket, page_url: str) -> Iterator[None]:
    handler = functools.partial(_Handler, page_url=page_url)
    server = http.server.ThreadingHTTPServer(sock.getsockname()[:2], handler,
                                             bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    thread = threading.Thread(target=server.serve_forever, name="example-page", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _listen(host: str, port: int) -> socket.socket:
    # Bound here, before anything is printed, so the printed addresses are real (port 0: any
    # free one) and a taken port fails as one line (an OSError) before anything starts.
    return socket.create_server((host, port), backlog=128)


def serve_example(
    settings: Settings,
    console: Console,
    *,
    page_port: int,
    idle_seconds: float = 3.0,
    on_ready: Callable[[str], None] | None = None,
) -> ExampleSummary:
    """Serve the example page until SIGINT/SIGTERM; return what landed. ``on_ready`` gets
    the page's address once everything listens (default: one line on ``console``)."""
    host = settings.collector.host
    page_sock = _listen(host, page_port)
    collector_sock = _listen(host, settings.collector.port)
    site = f"http://{host}:{page_sock.getsockname()[1]}"
    endpoint = f"http://{host}:{collector_sock.getsockname()[1]}"
    settings = settings.with_part(collector={
        "cors_origins": [*settings.collector.cors_origins, site]})
    with connect(settings) as conn:
        key_id, key = create_key(conn, EXAMPLE_APP, CLIENT_FAMILIES)
        conn.commit()
    try:
        url = f"{site}/{PAGE}?{urlencode({'endpoint': endpoint, 'key': key}, safe=':/')}"
        collector = Collector(settings)
        inserted, duplicates = _serve(settings, collector, collector_sock, page_sock, url,
                                      idle_seconds, on_ready or _announcer(console))
    finally:
        with connect(settings) as conn:
            revoke_keys(conn, EXAMPLE_APP, key_id)
            conn.commit()
        collector_sock.close()
    events = collector.metrics.events
    return ExampleSummary(
        url=url, accepted=events[("accepted", "")], forbidden=events[("forbidden", "")],
        rejected=sum(n for (outcome, _), n in events.items() if outcome == "rejected"),
        ingested=inserted, duplicates=duplicates,
    )


def _announcer(console: Console) -> Callable[[str], None]:
    def announce(address: str) -> None:
        console.print(f"example page: {address}", soft_wrap=True, markup=False,
                      highlight=False)
        console.file.flush()  # the line may be all a pipe (a test, `| tee`) sees for long

    return announce


def _serve(
    settings: Settings, collector: Collector, collector_sock: socket.socket,
    page_sock: socket.socket, url: str, idle_seconds: float, on_ready: Callable[[str], None],
) -> tuple[int, int]:
    """The collector, ingest and the page until a signal, then ingest until caught up;
    returns the log's new rows and duplicates."""
    config = uvicorn.Config(create_app(settings, collector=collector), log_level="warning",
                            access_log=False, http="httptools", lifespan="on")
    server = _Server(config)

    async def main() -> tuple[int, int]:
        stop = anyio.Event()
        ingesting = _Result()
        with _stop_on_signals(stop):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_ingest, settings, stop, ingesting)
                tasks.start_soon(server.serve, [collector_sock])
                while not server.started and not server.should_exit:
                    await anyio.sleep(0.05)
                if server.started:
                    on_ready(url)
                else:  # the collector's startup failed; uvicorn's log line says why
                    stop.set()
                await stop.wait()
                server.should_exit = True
        if not server.started:
            raise LearnstreamError("the collector did not start (see the lines above)")
        # Ingest stopped with the signal; what the collector acknowledged since its last batch
        # is still in Kafka: take it now, so the summary's "in the log" is complete.
        drained = await run_ingest(settings, until_idle=idle_seconds)
        return ingesting.inserted + drained.inserted, ingesting.duplicates + drained.duplicates

    with _static_server(page_sock, url):
        return anyio.run(main)


@dataclass(slots=True)
class _Result:
    inserted: int = 0
    duplicates: int = 0


async def _ingest(settings: Settings, stop: anyio.Event, into: _Result) -> None:
    summary = await run_ingest(settings, stop=stop)
    into.inserted, into.duplicates = summary.inserted, summary.duplicates


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: the example's handlers stop the
    collector and ingest together (uvicorn's would re-raise the signal once it stopped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _stop_on_signals(stop: anyio.Event) -> Iterator[None]:
    import asyncio

    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
