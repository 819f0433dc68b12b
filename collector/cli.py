"""Commands of this stage, registered on the root ``learnstream`` app: ``collect`` and
``keys create|list|revoke``."""

from __future__ import annotations

from collections.abc import Callable

import typer

from learnstream.settings import Settings

#: Starts what the settings point at when it is local and not running (handed in by the app).
StartServices = Callable[[Settings], None]


def register(app: typer.Typer, *, start_services: StartServices) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("collect")
    def collect(
        host: str | None = typer.Option(None, help="Default: settings.collector.host."),
        port: int | None = typer.Option(
            None, min=0, max=65535, help="Default: settings.collector.port (0: any free port)."
        ),
    ) -> None:
        """Serve the HTTP collector: apps POST events to /v1/events."""
        import uvicorn

        from collector.service import create_app
        from learnstream.settings import load_settings

        settings = load_settings()
        start_services(settings)
        part = settings.collector
        config = uvicorn.Config(
            create_app(settings), host=host or part.host,
            port=part.port if port is None else port, log_level="warning", access_log=False,
            loop="uvloop", http="httptools", lifespan="on",
        )
        server = uvicorn.Server(config)
        # Bound and listening before the line is printed, so it names the real port (with
        # --port 0) and is true: connections wait in the backlog until the app has started.
        sock = config.bind_socket()
        sock.listen(config.backlog)
        bound_host, bound_port = sock.getsockname()[:2]
        typer.echo(f"listening on http://{bound_host}:{bound_port}")
        server.run(sockets=[sock])

    keys = typer.Typer(no_args_is_help=True, help="Write keys of the apps that post events.")
    app.add_typer(keys, name="keys")

    @keys.command("create")
    def keys_create(
        app_name: str = typer.Option(..., "--app", help="The app the key is for."),
        family: list[str] = typer.Option(
            [], "--family",
            help="Allow only this event family (repeat; default all): behavior, likes, "
            "activity, learning, catalog.",
        ),
    ) -> None:
        """Create a write key and print it (only its hash is stored: copy it now)."""
        from collector.keys import create_key
        from learnstream.db import connect
        from learnstream.settings import load_settings

        settings = load_settings()
        start_services(settings)
        with connect(settings) as conn:
            try:
                key_id, key = create_key(conn, app_name, family)
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None
            conn.commit()
        families = ", ".join(sorted(set(family))) if family else "all families"
        typer.echo(f"key {key_id} for app {app_name} ({families}):", err=True)
        typer.echo(key)

    @keys.command("list")
    def keys_list(
        app_name: str | None = typer.Option(None, "--app", help="Only this app's keys."),
    ) -> None:
        """Write keys (their first characters), families, created and revoked times."""
        from rich.console import Console
        from rich.table import Table

        from collector.keys import list_keys
        from learnstream.db import connect
        from learnstream.settings import load_settings

        settings = load_settings()
        start_services(settings)
        with connect(settings) as conn:
            rows = list_keys(conn, app_name)
        table = Table("id", "app", "key starts", "families", "created", "revoked")
        for r in rows:
            table.add_row(str(r.id), r.app, r.prefix + "…", ", ".join(r.families or ("all",)),
                          f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                          "-" if r.revoked_at is None else f"{r.revoked_at:%Y-%m-%d %H:%M:%S}")
        console = Console()
        console.print(table)
        console.print(f"{len(rows)} keys")

    @keys.command("revoke")
    def keys_revoke(
        app_name: str = typer.Option(..., "--app", help="The app whose keys are revoked."),
        key_id: int | None = typer.Option(None, "--id", help="Only this key (see `keys list`)."),
    ) -> None:
        """Revoke an app's active write keys (or one); requests with them get 403."""
        from collector.keys import revoke_keys
        from learnstream.db import connect
        from learnstream.settings import load_settings

        settings = load_settings()
        start_services(settings)
        with connect(settings) as conn:
            ids = revoke_keys(conn, app_name, key_id)
            conn.commit()
        typer.echo(f"revoked {len(ids)} key{'s' if len(ids) != 1 else ''} of app {app_name} "
                   f"({', '.join(map(str, ids))}); collectors stop accepting them within "
                   f"settings.collector.key_cache_seconds")
