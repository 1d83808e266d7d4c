"""The command tree on one screen. Command modules import their heavy
dependencies inside the command body, so ``--help``, ``--version`` and shell
completion load nothing but typer.
"""

from __future__ import annotations

from typing import Annotated

import typer

from powsoo_cli.commands import (
    check_origin,
    completion,
    config_show,
    diagnose,
    explain,
    get_config,
    mint_token,
    post_result,
    sandbox,
    send_card,
    watch_events,
)
from powsoo_cli.runtime import GlobalOptions

app = typer.Typer(
    name="powsoo",
    help="Diagnose, watch and drive Powsoo voice widgets from the terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich-formatted help would import rich on every --help.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Inspect the effective configuration.")


def show_version(value: bool) -> None:
    if value:
        from powsoo_cli.version import version

        typer.echo(f"powsoo {version()}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="production, staging or sandbox (default: POWSOO_ENV, "
            "else production).",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", help="Talk to this API instead.", show_default=False
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Use this profile of the config file."),
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option("--request-id", help="Send this x-request-id on every request."),
    ] = None,
    connect_timeout: Annotated[
        float | None,
        typer.Option("--connect-timeout", help="Seconds to wait for a connection."),
    ] = None,
    read_timeout: Annotated[
        float | None,
        typer.Option("--read-timeout", help="Seconds to wait for an answer."),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Trace requests (redacted) and show tracebacks on errors."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Diagnose, watch and drive Powsoo voice widgets from the terminal.

    Start with: POWSOO_ENV=sandbox powsoo diagnose wid_demo --origin
    https://shop.example
    """
    ctx.obj = GlobalOptions(
        env=env,
        base_url=base_url,
        profile=profile,
        request_id=request_id,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        debug=debug,
    )


app.command("diagnose")(diagnose.command)
app.command("get-config")(get_config.command)
app.command("mint-token")(mint_token.command)
app.command("check-origin")(check_origin.command)
app.command("explain")(explain.command)
app.command("sandbox")(sandbox.command)
app.command("send-card")(send_card.command)
app.command("post-result")(post_result.command)
app.command("completion")(completion.command)
app.command("watch-events")(watch_events.command)
config_app.command("show")(config_show.command)
app.add_typer(config_app, name="config")
