"""powsoo get-config: fetch a widget's public config as a page would."""

from __future__ import annotations

import typer

from powsoo_cli.commands.common import diagnose_hint, options, require_origin
from powsoo_cli.params import JsonOpt, OriginOpt, WidgetArg


def command(
    ctx: typer.Context,
    widget: WidgetArg,
    origin: OriginOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Fetch a widget's embed config with a page's Origin (GET /v1/embed/.../config).

    Example: powsoo get-config wid_demo --origin https://shop.example
    """
    from powsoo_cli import console
    from powsoo_cli.render import timing_line
    from powsoo_cli.runtime import open_client

    opts = options(ctx)
    origin = require_origin(opts, origin)
    with diagnose_hint(opts, widget, origin), open_client(opts) as client:
        reply = client.get_embed_config(widget, origin)

    if json_output:
        console.print_json(reply.body.model_dump(mode="json"))
    else:
        from powsoo_cli.render.calls import config_view

        console.out().print(config_view(widget, origin, reply.body))
    console.message(
        timing_line(reply.status, reply.elapsed, reply.request_id), style="dim"
    )
