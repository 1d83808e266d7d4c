"""The command tree on one screen.

Only the command being run is built in full: typer reads every parameter of
a command it registers, which costs more than the rest of ``--help``. The
others are registered as stubs carrying just their name and summary, which
is all that the top-level help and command-name completion show.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from powsoo_cli.command_table import COMMANDS, CONFIG_GROUP, CONFIG_SUMMARY
from powsoo_cli.runtime import GlobalOptions

GLOBAL_HELP = "Diagnose, watch and drive Powsoo voice widgets from the terminal."


def show_version(value: bool) -> None:
    if value:
        from powsoo_cli.version import version

        typer.echo(f"powsoo {version()}")
        raise typer.Exit()


def global_options(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="ENV",
            help="production, staging or sandbox (default: POWSOO_ENV, "
            "else production).",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="Talk to this API instead.",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", metavar="NAME", help="Use this profile of the config file."
        ),
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            metavar="ID",
            help="Send this x-request-id on every request.",
        ),
    ] = None,
    connect_timeout: Annotated[
        float | None,
        typer.Option(
            "--connect-timeout",
            metavar="SECONDS",
            help="Seconds to wait for a connection.",
        ),
    ] = None,
    read_timeout: Annotated[
        float | None,
        typer.Option(
            "--read-timeout", metavar="SECONDS", help="Seconds to wait for an answer."
        ),
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


def _stub() -> None:
    """Stands in for a command that is not being run."""


def build_app(selected: str | None) -> typer.Typer:
    """The command tree with ``selected`` built in full and the rest as stubs."""
    app = typer.Typer(
        name="powsoo",
        help=GLOBAL_HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # Plain help: rich-formatted help would import rich on every --help.
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(global_options)

    for name, (module_name, summary) in COMMANDS.items():
        if name == selected:
            module = importlib.import_module(f"powsoo_cli.commands.{module_name}")
            app.command(name, short_help=summary)(module.command)
        else:
            app.command(name, short_help=summary, add_help_option=False)(_stub)

    config_app = typer.Typer(help=CONFIG_SUMMARY)
    if selected == CONFIG_GROUP:
        from powsoo_cli.commands import config_show

        config_app.command("show")(config_show.command)
    else:
        config_app.command("show")(_stub)
    app.add_typer(config_app, name=CONFIG_GROUP)
    return app
