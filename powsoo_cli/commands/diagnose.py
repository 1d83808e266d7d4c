"""powsoo diagnose: why a widget fails on a site, and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from powsoo_cli.commands.common import options, require_origin
from powsoo_cli.errors import UsageError
from powsoo_cli.params import (
    LONGEST_WAIT,
    OriginOpt,
    check_widget_id,
    complete_demo_widget,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from powsoo_cli.diagnose.verdict import Diagnosis
    from powsoo_cli.runtime import GlobalOptions

# The embedded sandbox heartbeats this often for diagnose, so that the
# heartbeat check takes a blink instead of the 15 s default interval.
EMBEDDED_HEARTBEAT = 0.3


def _check_page(page: str | None) -> str | None:
    if page is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(page)
    except ValueError:  # an unclosed IPv6 bracket, say
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"--page {page!r} is not an http(s) URL",
            hint="e.g. --page https://shop.example/contact",
        )
    return page


def _check_base_url(opts: GlobalOptions) -> None:
    base = opts.settings.api_base_url
    if base is None:
        return
    import httpx

    try:
        url = httpx.URL(base)
    except httpx.InvalidURL as exc:
        raise UsageError(f"cannot use the base URL {base!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise UsageError(
            f"cannot use the base URL {base!r}",
            hint="a base URL looks like https://api.powsoo.com",
        )


def _read_file(source: str) -> tuple[str, str]:
    import sys

    if source == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(source).read_text(encoding="utf-8"), source
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{source}: cannot read it: {exc}") from None


def _emit(
    diagnoses: Sequence[Diagnosis],
    *,
    json_output: bool,
    junit: Path | None,
    batch: bool,
    shard: str | None = None,
    duration: float = 0.0,
) -> None:
    import sys

    from powsoo_cli import console
    from powsoo_cli.diagnose import github, json_report
    from powsoo_cli.diagnose import junit as junit_report
    from powsoo_cli.render.diagnose import batch_view, diagnosis_view

    if json_output:
        if batch:
            data = json_report.batch_to_dict(diagnoses, shard=shard, duration=duration)
        else:
            data = json_report.to_dict(diagnoses[0])
        console.print_json(data)
    elif batch:
        console.out().print(batch_view(diagnoses))
    else:
        console.out().print(diagnosis_view(diagnoses[0]))

    if junit is not None:
        try:
            junit_report.write(junit, diagnoses)
        except OSError as exc:
            raise UsageError(f"cannot write the JUnit report {junit}: {exc}") from None
        console.message(f"JUnit report written to {junit}", style="dim")

    if github.enabled():
        # Documented channel: stdout; with --json stdout holds only the
        # document, and the runner parses stderr lines too.
        stream = sys.stderr if json_output else sys.stdout
        sys.stdout.flush()
        for line in github.lines(diagnoses):
            stream.write(line + "\n")
        stream.flush()


def command(
    ctx: typer.Context,
    widget: Annotated[
        str | None,
        typer.Argument(
            metavar="WIDGET",
            help="The widget id, e.g. wid_demo (omit with --from).",
            callback=check_widget_id,
            autocompletion=complete_demo_widget,
            show_default=False,
        ),
    ] = None,
    origin: OriginOpt = None,
    page: Annotated[
        str | None,
        typer.Option(
            "--page",
            metavar="URL",
            help="Also check this page: embed, CSP, microphone policy, https. "
            "Without --origin, the page's final origin is used.",
            show_default=False,
        ),
    ] = None,
    no_mint: Annotated[
        bool,
        typer.Option(
            "--no-mint",
            help="Create no call: skip the mint and the checks that need a token.",
        ),
    ] = False,
    heartbeat_wait: Annotated[
        float,
        typer.Option(
            "--heartbeat-wait",
            metavar="S",
            min=0,
            max=LONGEST_WAIT,
            help="Seconds to wait for the first heartbeat after ready; 0 skips it.",
        ),
    ] = 20.0,
    ready_wait: Annotated[
        float,
        typer.Option(
            "--ready-wait",
            metavar="S",
            min=0.01,
            max=LONGEST_WAIT,
            help="Seconds to wait for the stream's ready event.",
        ),
    ] = 5.0,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object (schema powsoo.diagnose/1)."
        ),
    ] = False,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="FILE",
            dir_okay=False,
            help="Also write a JUnit XML report, one test case per check.",
            show_default=False,
        ),
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="FILE",
            help='Diagnose every "WIDGET ORIGIN [PAGE]" line of FILE (or CSV '
            "with a widget,origin,page header); - reads stdin.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            metavar="N",
            min=1,
            max=64,
            help="With --from: widgets diagnosed at once.",
        ),
    ] = 8,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="With --from: run only the I-th of N shares (e.g. 2/4).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Work out why a widget fails on a site, and how to fix it.

    Checks the API, the config and the allowlist (from the page origin and
    from localhost, which is always allowed), a mint, the event stream, the
    results endpoint, CORS, and with --page the page itself; then names the
    most likely cause and the fix. Outside the sandbox the mint creates a
    real web call (at most one per widget; --no-mint creates none).

    Exit codes: 0 healthy, 1 a problem was found, 3 the API is unreachable.

    Example: powsoo diagnose wid_demo --origin https://shop.example
    """
    import threading
    import time

    from powsoo_cli.diagnose.base import Options, Target
    from powsoo_cli.diagnose.runner import diagnose
    from powsoo_cli.runtime import open_client

    opts = options(ctx)
    page = _check_page(page)
    if from_file is not None:
        if widget is not None:
            raise UsageError("give either WIDGET or --from FILE, not both")
        if page is not None:
            raise UsageError(
                "--page applies to one widget", hint="put pages in the --from file"
            )
    elif widget is None:
        raise UsageError(
            "no widget given",
            hint="e.g. powsoo diagnose wid_demo --origin https://shop.example, "
            "or --from FILE",
        )
    elif shard is not None:
        raise UsageError("--shard needs --from FILE")

    if junit is not None and not junit.resolve().parent.is_dir():
        raise UsageError(f"--junit {junit}: its folder does not exist")
    if from_file is None and origin is None and page is None:
        origin = require_origin(opts, None)
    _check_base_url(opts)
    settings = opts.settings
    run_options = Options(
        no_mint=no_mint,
        ready_wait=ready_wait,
        heartbeat_wait=heartbeat_wait,
        sandbox=settings.is_sandbox or settings.api_base_url is None,
    )

    if from_file is None:
        assert widget is not None
        with open_client(opts, sandbox_heartbeat=EMBEDDED_HEARTBEAT) as client:
            diagnosis = diagnose(
                client,
                Target(widget, origin, page),
                run_options,
                api_base_url=client.base_url,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
            )
        _emit([diagnosis], json_output=json_output, junit=junit, batch=False)
        raise typer.Exit(diagnosis.exit_code)

    from powsoo_cli import console
    from powsoo_cli.diagnose import batch
    from powsoo_cli.exit_codes import ExitCode

    text, name = _read_file(from_file)
    default_origin = origin or settings.origin
    entries = batch.read_entries(text, name, default_origin)
    if not entries:
        raise UsageError(f"{name} lists no widgets")
    if shard is not None:
        index, count = batch.parse_shard(shard)
        entries = batch.shard(entries, index, count)
    if not entries:
        console.message(f"shard {shard} of {name} is empty: nothing to diagnose")

    started = time.perf_counter()
    cancelled = threading.Event()
    with open_client(opts, sandbox_heartbeat=EMBEDDED_HEARTBEAT) as client:

        def one(entry: batch.Entry) -> Diagnosis:
            return diagnose(
                client,
                Target(entry.widget, entry.origin, entry.page),
                run_options,
                api_base_url=client.base_url,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                cancelled=cancelled,
                concurrent_checks=False,
            )

        diagnoses = batch.run_all(entries, one, concurrency, cancelled)
    _emit(
        diagnoses,
        json_output=json_output,
        junit=junit,
        batch=True,
        shard=shard,
        duration=time.perf_counter() - started,
    )
    if diagnoses and all(d.unreachable for d in diagnoses):
        raise typer.Exit(ExitCode.UNREACHABLE)
    if any(not d.healthy for d in diagnoses):
        raise typer.Exit(ExitCode.PROBLEM)
