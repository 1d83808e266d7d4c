"""powsoo post-result: answer a card the way the widget does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from powsoo_cli.commands.common import options

if TYPE_CHECKING:
    from powsoo_cli.errors import ApiError
    from powsoo_cli.session_store import SavedSession

STATUSES = ("confirmed", "edited", "skipped")


def check_status(value: str | None) -> str | None:
    if value is not None and value not in STATUSES:
        raise typer.BadParameter(
            f"{value!r} is not a status; use one of {', '.join(STATUSES)}"
        )
    return value


CallIdArg = Annotated[
    str | None,
    typer.Argument(
        metavar="CALL_ID",
        help="The call (default: the one mint-token saved).",
        show_default=False,
    ),
]


def command(
    ctx: typer.Context,
    call_id: CallIdArg = None,
    tool_call_id: Annotated[
        str | None,
        typer.Option(
            "--tool-call-id",
            "-t",
            help="The card to answer: toolCallId of its tool_call event.",
            show_default=False,
        ),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action",
            "-a",
            help="The value of the tapped button.",
            show_default=False,
        ),
    ] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-f",
            metavar="LABEL=VALUE",
            help="Final value of a field (repeatable; LABEL= for empty).",
            show_default=False,
        ),
    ] = None,
    edited: Annotated[
        list[str] | None,
        typer.Option(
            "--edited",
            "-e",
            metavar="LABEL",
            help="A field the user changed; must also be a --field (repeatable).",
            show_default=False,
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="confirmed, edited or skipped (default: skipped for a skip or "
            "cancel action, edited with --edited, else confirmed).",
            callback=check_status,
            show_default=False,
        ),
    ] = None,
    result_file: Annotated[
        str | None,
        typer.Option(
            "--result-file",
            metavar="FILE",
            help="Read the result as JSON from FILE (- for stdin) instead of "
            "the flags above.",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Session token (default: POWSOO_SESSION_TOKEN, else the saved "
            "session of this call).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print {accepted, status, elapsedMs, requestId} as JSON on stdout.",
        ),
    ] = False,
) -> None:
    """Post a card result as the widget does (POST /v1/sessions/.../results).

    Answers the card whose tool_call event carried --tool-call-id; the held
    show-card webhook then returns this result to the LLM. Every input is
    checked first, and nothing is sent if one is wrong: --edited labels must
    also be --field labels, status 'edited' needs --edited labels, and
    'confirmed' allows none.

    --result-file takes either the whole request body, {"toolCallId": ...,
    "result": {...}}, or the result object alone, in which case
    --tool-call-id is required. It replaces --action, --field, --edited and
    --status.

    \b
    Example:
      powsoo post-result call_123 -t tc_456 --action confirm \\
        --field Email=jane@example.org --edited Email
    """
    import sys

    from pydantic import ValidationError

    from powsoo_cli import cards, console
    from powsoo_cli.commands.common import saved_call, session_token_for
    from powsoo_cli.errors import ApiError, UsageError
    from powsoo_cli.models import ResultRequest
    from powsoo_cli.render import timing_line
    from powsoo_cli.runtime import open_client

    # Everything is checked before anything is sent.
    if result_file is not None:
        mixed = [
            flag
            for flag, given in (
                ("--action", action is not None),
                ("--field", bool(fields)),
                ("--edited", bool(edited)),
                ("--status", status is not None),
            )
            if given
        ]
        if mixed:
            raise UsageError(
                f"--result-file holds the whole result; drop {', '.join(mixed)}"
            )
        source = "<stdin>" if result_file == "-" else result_file
        if result_file == "-" and sys.stdin.isatty():
            console.message("reading the result from stdin; end it with Ctrl-D")
        document = cards.read_document(result_file, "result")
        tool_call_id, result = cards.result_from_document(
            document, tool_call_id, source
        )
    else:
        result = cards.result_from_flags(
            action=action, fields=fields or [], edited=edited or [], status=status
        )
        if not tool_call_id:
            raise UsageError(
                "--tool-call-id is required",
                hint="it is the toolCallId of the card's tool_call event "
                "(powsoo watch-events shows it)",
            )

    try:
        request = ResultRequest.model_validate(
            {"toolCallId": tool_call_id, "result": result}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"the result is invalid: {where}: {first['msg']}") from None

    opts, call_id, saved = saved_call(options(ctx), call_id)
    session_token = session_token_for(
        call_id, given=(token,), setting=opts.settings.session_token, saved=saved
    )
    if opts.settings.api_base_url is None:
        raise UsageError(
            "the embedded sandbox starts empty, so it has no call to answer",
            hint="run 'powsoo sandbox' in another terminal and pass --base-url",
        )

    try:
        with open_client(opts) as client:
            reply = client.post_result(call_id, session_token, request)
            base_url = client.base_url
    except ApiError as exc:
        explain_failure(
            exc, call_id, request.toolCallId, opts.settings.api_base_url, saved
        )
        raise

    body = request.result
    console.message(
        f"result accepted for {request.toolCallId}: {body.status}, "
        f"action {body.action!r}"
        + (f", edited {', '.join(body.edited)}" if body.edited else ""),
    )
    console.message(
        timing_line(reply.status, reply.elapsed, reply.request_id) + f" · {base_url}",
        style="dim",
    )
    if json_output:
        console.print_json(
            {
                "accepted": True,
                "status": reply.status,
                "elapsedMs": round(reply.elapsed * 1000, 1),
                "requestId": reply.request_id,
            }
        )


def explain_failure(
    exc: ApiError,
    call_id: str,
    tool_call_id: str,
    base_url: str | None,
    saved: SavedSession | None,
) -> None:
    """Give a refused result the hint that tells its likely reason."""
    if exc.status == 401:
        mint = (
            f"powsoo mint-token {saved.widget_id} --origin {saved.origin}"
            if saved
            else "powsoo mint-token WIDGET --origin ORIGIN"
        )
        exc.hint = (
            "the session token was refused: it lapses about 10 minutes after "
            f"the mint and works for its own call only; mint a new one: {mint}"
        )
    elif exc.status == 404 and exc.code == "session_not_found":
        exc.hint = (
            f"the API has no live session for call {call_id}: the call ended or "
            "lapsed, the id is mistyped, or it was minted on another API"
            + (f" (now talking to {base_url})" if base_url else "")
        )
    elif exc.status == 404:
        either = "" if exc.code == "tool_call_not_found" else "the call is gone, or "
        exc.hint = (
            f"{either}no card waits for {tool_call_id} on call {call_id}: it was "
            "never sent to this call, was already answered, or its 110 s hold "
            "expired; answer the latest tool_call event (powsoo watch-events "
            f"{call_id})"
        )
