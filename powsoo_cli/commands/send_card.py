"""powsoo send-card: call the show-card webhook as Retell does, and wait."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from powsoo_cli.commands.common import options
from powsoo_cli.params import LONGEST_WAIT, JsonOpt

if TYPE_CHECKING:
    from powsoo_cli.errors import ApiError

# Retell's own function timeout; Powsoo answers first, at 110 s (§7).
DEFAULT_WAIT = 120.0


def _repeatable(*flags: str, metavar: str, text: str) -> object:
    return typer.Option(*flags, metavar=metavar, help=text, show_default=False)


def command(
    ctx: typer.Context,
    call_id: Annotated[
        str | None,
        typer.Argument(
            metavar="CALL_ID",
            help="The call (default: the one mint-token saved).",
            show_default=False,
        ),
    ] = None,
    card_file: Annotated[
        str | None,
        typer.Option(
            "--card",
            "-c",
            metavar="FILE",
            help="The card as JSON (- for stdin), instead of the flags below.",
            show_default=False,
        ),
    ] = None,
    title: Annotated[
        str | None,
        typer.Option("--title", help="The card's heading.", show_default=False),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="Sub-text under the title."),
    ] = None,
    fields: Annotated[
        list[str] | None,
        _repeatable(
            "--field",
            "-f",
            metavar="LABEL[=VALUE]",
            text="A field, pre-filled with VALUE.",
        ),
    ] = None,
    field_types: Annotated[
        list[str] | None,
        _repeatable(
            "--field-type",
            metavar="LABEL=TYPE",
            text="text, email, phone, address, date, select, multiselect or consent.",
        ),
    ] = None,
    choices: Annotated[
        list[str] | None,
        _repeatable(
            "--option",
            metavar="LABEL=ID[:TEXT]",
            text="A choice of a select or multiselect field.",
        ),
    ] = None,
    read_only: Annotated[
        list[str] | None,
        _repeatable(
            "--read-only", metavar="LABEL", text="Make this field not editable."
        ),
    ] = None,
    actions: Annotated[
        list[str] | None,
        _repeatable(
            "--action",
            "-a",
            metavar="LABEL=VALUE[:STYLE]",
            text="A button; STYLE is primary, secondary or danger.",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0.1,
            max=LONGEST_WAIT,
            metavar="SECONDS",
            help="How long to wait for the answer, as Retell does.",
        ),
    ] = DEFAULT_WAIT,
    json_output: JsonOpt = False,
) -> None:
    """Show a card as Retell's LLM does (POST /v1/retell/tools/show-card).

    The API pushes the card to the widget listening on the call's stream and
    holds this request until the widget posts a result (powsoo post-result),
    then prints the result string the LLM would receive and how long the
    answer took. The card is checked against the powsoo_show_card schema
    first; nothing is sent if it does not fit.

    The card comes from --card FILE, or from quick flags, each repeatable:
    --field LABEL[=VALUE], --field-type LABEL=TYPE, --option LABEL=ID[:TEXT]
    (TEXT defaults to ID), --read-only LABEL, and --action LABEL=VALUE[:STYLE]
    (the last ':' starts the style, so a VALUE holding ':' needs a STYLE).
    Labels run up to the first '='.

    \b
    Example:
      powsoo send-card call_123 --title "Check your email" \\
        --field Email=jane@example.org --field-type Email=email \\
        --action Confirm=confirm:primary --action Skip=skip
    """
    import sys
    import time

    import httpx

    from powsoo_cli import cards, console
    from powsoo_cli.commands.common import saved_call
    from powsoo_cli.errors import ApiError, PowsooError, TransportError, UsageError
    from powsoo_cli.render.cards import (
        card_summary,
        decode_result,
        raw_line,
        result_view,
    )
    from powsoo_cli.runtime import open_client
    from powsoo_cli.settings import BASE_URLS

    # The card is built and checked before anything is sent.
    quick = {
        "--title": title is not None,
        "--description": description is not None,
        "--field": bool(fields),
        "--field-type": bool(field_types),
        "--option": bool(choices),
        "--read-only": bool(read_only),
        "--action": bool(actions),
    }
    if card_file is not None:
        mixed = [flag for flag, given in quick.items() if given]
        if mixed:
            raise UsageError(f"--card gives the whole card; drop {', '.join(mixed)}")
        source = "<stdin>" if card_file == "-" else card_file
        if card_file == "-" and sys.stdin.isatty():
            console.message("reading the card from stdin; end it with Ctrl-D")
        card = cards.check_card(cards.read_document(card_file, "card"), source)
    else:
        card = cards.check_card(
            cards.card_from_flags(
                title=title,
                description=description,
                fields=fields or [],
                field_types=field_types or [],
                options=choices or [],
                read_only=read_only or [],
                actions=actions or [],
            ),
            "the card",
        )
    for warning in cards.card_warnings(card):
        console.warn(warning)

    opts, call_id, _ = saved_call(options(ctx), call_id)
    base_url = opts.settings.api_base_url
    if base_url is None:
        raise UsageError(
            "the embedded sandbox starts empty, so no widget listens on it",
            hint="run 'powsoo sandbox' in another terminal and pass --base-url",
        )
    if base_url in BASE_URLS.values():
        console.warn(f"the card goes to the live widget of call {call_id}")

    status = None
    if console.err().is_terminal:
        from rich.text import Text

        status = console.err().status(
            Text(
                f"waiting up to {wait:g} s for an answer to {card_summary(card)}",
            )
        )
    started = time.perf_counter()
    try:
        with open_client(opts) as client:
            if status is not None:
                status.start()
            reply = client.show_card(call_id, card, wait=wait)
    except ApiError as exc:
        waited = time.perf_counter() - started
        explain_failure(exc, call_id, waited)
        raise
    except TransportError as exc:
        if isinstance(exc.__cause__, httpx.ReadTimeout):
            raise PowsooError(
                f"no answer within --wait {wait:g} s",
                hint="the card may still be pending on the API, which holds it "
                "for 110 s; wait longer with --wait SECONDS",
            ) from None
        raise
    finally:
        if status is not None:
            status.stop()

    raw = reply.body.result
    if json_output:
        console.print_json(reply.body.model_dump(mode="json"))
    else:
        console.out().print(result_view(raw))
        console.out().print(raw_line(raw), soft_wrap=True)
    data = decode_result(raw)
    what = f"{data.get('status')} " if data else ""
    console.message(
        f"{what}answer after {reply.elapsed:.1f} s"
        + (f" · request {reply.request_id}" if reply.request_id else ""),
        style="dim",
    )


def explain_failure(exc: ApiError, call_id: str, waited: float) -> None:
    """Give a refused or timed-out webhook the hint that explains it."""
    if exc.status == 404:
        exc.hint = (
            f"no widget is listening for call {call_id}: open its event stream "
            f"first (powsoo watch-events {call_id}) and keep it open, then send "
            "the card again"
        )
    elif exc.status == 504:
        exc.hint = (
            f"nobody answered the card; the API gave up after {waited:.1f} s "
            "(Powsoo holds a card for 110 s). Answer it in time with: powsoo "
            f"post-result {call_id} --tool-call-id ID --action VALUE"
        )
    elif exc.status == 400:
        exc.hint = "the API refused the webhook body; its message above says why"
