"""The collector served by one of the candidate servers and frameworks, for
``bench/collector.py``: ``python -m bench.collector_server SERVER FRAMEWORK PORT`` with
SERVER uvicorn or granian and FRAMEWORK starlette (what ``learnstream collect`` serves) or
fastapi (the same endpoints behind FastAPI's router and middleware). Settings come from the
environment, as for ``learnstream collect``."""

from __future__ import annotations

import sys
from typing import Any

from collector.service import Collector, create_app
from learnstream.settings import load_settings


def starlette_app() -> Any:
    return create_app(load_settings())


def fastapi_app() -> Any:
    from fastapi import FastAPI

    settings = load_settings()
    state = Collector(settings)
    inner = create_app(settings, collector=state)
    app = FastAPI(lifespan=state.lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.router.routes.extend(inner.routes)
    return app


def main() -> None:
    server, framework, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    factory = {"starlette": starlette_app, "fastapi": fastapi_app}[framework]
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(factory(), host="127.0.0.1", port=port, log_level="warning",
                    access_log=False, loop="uvloop", http="httptools")
    elif server == "granian":
        from granian.constants import Interfaces, Loops
        from granian.server import Server

        Server(f"bench.collector_server:{factory.__name__}", address="127.0.0.1", port=port,
               interface=Interfaces.ASGI, workers=1, loop=Loops.uvloop, factory=True,
               log_enabled=False).serve()
    else:
        raise SystemExit(f"unknown server {server}")


if __name__ == "__main__":
    main()
