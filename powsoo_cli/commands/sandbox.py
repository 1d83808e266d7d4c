"""powsoo sandbox: the whole API emulated on loopback, standalone."""

from __future__ import annotations

from typing import Annotated

import typer


def command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (keep it loopback).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")
    ] = 8787,
    heartbeat_interval: Annotated[
        float,
        typer.Option(
            "--heartbeat-interval", min=0.01, help="Seconds between heartbeats."
        ),
    ] = 15.0,
    hold_timeout: Annotated[
        float,
        typer.Option(
            "--hold-timeout", min=0.01, help="Seconds a show-card webhook is held."
        ),
    ] = 110.0,
    token_ttl: Annotated[
        float,
        typer.Option("--token-ttl", min=1, help="Seconds a session token stays valid."),
    ] = 600.0,
) -> None:
    """Serve the emulated Powsoo API with its demo widgets until Ctrl-C.

    Point other commands at it with --base-url http://127.0.0.1:8787. Its log
    shows the hidden reason behind every 404, and never a token.
    """
    from powsoo_cli import console
    from powsoo_cli.errors import UsageError
    from powsoo_cli.sandbox.fixtures import DEMO_ORIGINS, DEMO_WIDGETS
    from powsoo_cli.sandbox.server import bind_socket, serve_forever
    from powsoo_cli.sandbox.state import SandboxConfig

    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port, or --port 0 for a free one",
        ) from None

    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    console.message(f"powsoo sandbox on http://{shown}:{bound_port}", style="bold")
    console.message(f"demo widgets (origins {', '.join(DEMO_ORIGINS)}):")
    for widget in DEMO_WIDGETS.values():
        console.message(f"  {widget.widget_id:<16} {widget.summary}")
    console.message("press Ctrl-C to stop", style="dim")
    config = SandboxConfig(
        heartbeat_interval=heartbeat_interval,
        hold_timeout=hold_timeout,
        token_ttl=token_ttl,
    )
    serve_forever(config, sock)
