"""powsoo mint-token: start a call the way a click on the widget does."""

from __future__ import annotations

from typing import Annotated

import typer

from powsoo_cli.commands.common import diagnose_hint, options, require_origin
from powsoo_cli.params import JsonOpt, OriginOpt, ShowSecretsOpt, WidgetArg


def command(
    ctx: typer.Context,
    widget: WidgetArg,
    origin: OriginOpt = None,
    json_output: JsonOpt = False,
    show_secrets: ShowSecretsOpt = False,
    no_save: Annotated[
        bool,
        typer.Option(
            "--no-save",
            help="Do not remember this session for watch-events.",
        ),
    ] = False,
) -> None:
    """Mint a voice token with a page's Origin (POST /v1/voice-tokens).

    Outside the sandbox this creates a real web call upstream, which may count
    against the plan's call cap. The session is remembered (owner-only file)
    so that watch-events can follow it; --json prints the tokens in full.

    Example: powsoo mint-token wid_demo --origin https://shop.example
    """
    from powsoo_cli import console, session_store
    from powsoo_cli.errors import PowsooError
    from powsoo_cli.render import timing_line
    from powsoo_cli.runtime import open_client

    opts = options(ctx)
    origin = require_origin(opts, origin)
    settings = opts.settings
    if not settings.is_sandbox:
        console.warn(
            "minting creates a real web call upstream; it may count against "
            "the plan's monthly call cap"
        )

    with diagnose_hint(opts, widget, origin), open_client(opts) as client:
        reply = client.mint_voice_token(widget, origin)
        base_url = client.base_url

    token = reply.body
    if json_output:
        console.print_json(token.model_dump(mode="json"))
    else:
        from powsoo_cli.render.calls import token_view

        console.out().print(token_view(token, show_secrets=show_secrets))
    console.message(
        timing_line(reply.status, reply.elapsed, reply.request_id), style="dim"
    )

    if no_save:
        return
    if settings.api_base_url is None:
        console.message(
            "not saved: the embedded sandbox stops with this command. Run "
            "'powsoo sandbox' in another terminal and pass --base-url to keep "
            "sessions alive.",
            style="dim",
        )
        return
    try:
        path = session_store.save(
            session_store.SavedSession(
                base_url=base_url,
                widget_id=widget,
                origin=origin,
                call_id=token.callId,
                session_token=token.sessionToken,
                expires_at=token.expiresAt.isoformat(),
            )
        )
    except OSError as exc:
        # The token is printed above; failing keeps a script from following
        # an older saved call with watch-events.
        raise PowsooError(
            f"the token was minted, but the session could not be saved to "
            f"{session_store.state_dir()}: {exc.strerror or exc}",
            hint="pass --no-save, or set POWSOO_STATE_DIR to a writable folder",
        ) from None
    console.message(
        f"session saved to {path}; follow it with: powsoo watch-events", style="dim"
    )
