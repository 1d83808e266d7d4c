"""powsoo watch-events: follow a call's event stream, as the widget does."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

import typer

from powsoo_cli.commands.common import options
from powsoo_cli.errors import PowsooError, UsageError
from powsoo_cli.params import LONGEST_WAIT

if TYPE_CHECKING:
    from powsoo_cli.client import PowsooClient
    from powsoo_cli.models import Card, CardAction, CardField, CardResult
    from powsoo_cli.render.events import EventWriter
    from powsoo_cli.runtime import GlobalOptions
    from powsoo_cli.stream import EventReader

CALL_ID = re.compile(r"[^\s/?#]+")
STREAM_PATH = re.compile(
    r"(?P<prefix>(?:/[^/]+)*?)/v1/sessions/(?P<call>[^/]+)/stream/?"
)
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SKIP_VALUES = frozenset({"skip", "cancel"})  # §13 #27
MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class StreamUrl:
    base_url: str
    call_id: str
    token: str | None


def parse_stream_url(text: str) -> StreamUrl:
    """Split a stream URL pasted from a browser into base URL, call and token."""
    example = "https://HOST/v1/sessions/CALL_ID/stream?token=sst_…"
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed IPv6 bracket, say
        parts = urlsplit("")
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(
            f"{text!r} is not an http(s) URL", hint=f"a stream URL looks like {example}"
        )
    match = STREAM_PATH.fullmatch(parts.path)
    if match is None:
        raise UsageError(
            f"{parts.path or '/'!r} is not the path of a call's stream",
            hint=f"a stream URL looks like {example}",
        )
    tokens = parse_qs(parts.query).get("token")
    return StreamUrl(
        base_url=f"{parts.scheme}://{parts.netloc}{match['prefix']}",
        call_id=unquote(match["call"]),
        token=tokens[0] if tokens else None,
    )


def check_call_id(value: str) -> str:
    if value.startswith("wid_"):
        raise UsageError(
            f"{value!r} is a widget id, not a call id",
            hint=f"start a call first: powsoo mint-token {value} --origin ORIGIN",
        )
    if not CALL_ID.fullmatch(value):
        raise UsageError(
            f"{value!r} is not a call id or a stream URL",
            hint="pass the callId that mint-token printed, or the whole stream URL",
        )
    return value


def command(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="CALL_ID|STREAM_URL",
            help="The call, or its stream URL as a browser opens it (default: "
            "the session mint-token saved).",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            "-t",
            metavar="SST",
            help="Session token (default: the stream URL's, else "
            "POWSOO_SESSION_TOKEN, else the saved session's).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object per event and line (see above)."
        ),
    ] = False,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="Print each SSE message as parsed: event, data, id."
        ),
    ] = False,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            metavar="TYPE",
            help="Show only events of this kind or type (repeatable).",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        list[str] | None,
        typer.Option(
            "--until",
            metavar="TYPE",
            help="Exit 0 once an event of this kind or type arrives (repeatable).",
            show_default=False,
        ),
    ] = None,
    max_events: Annotated[
        int | None,
        typer.Option(
            "--max-events",
            metavar="N",
            min=1,
            help="Exit 0 after showing N events.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0.001,
            max=LONGEST_WAIT,
            help="Stop after this long; exit 1 if --until or --max-events is "
            "not met by then.",
            show_default=False,
        ),
    ] = None,
    answer: Annotated[
        bool,
        typer.Option(
            "--answer",
            help="Answer each card from the terminal (stdin) and post the result.",
        ),
    ] = False,
    no_reconnect: Annotated[
        bool,
        typer.Option(
            "--no-reconnect", help="Stop at the first drop instead of reconnecting."
        ),
    ] = False,
    heartbeat_interval: Annotated[
        float | None,
        typer.Option(
            "--heartbeat-interval",
            metavar="SECONDS",
            min=0.001,
            max=LONGEST_WAIT,
            help="The server's heartbeat period; three of them without data "
            "mean a dead connection (default: POWSOO_HEARTBEAT_INTERVAL, else "
            "15).",
            show_default=False,
        ),
    ] = None,
    max_retries: Annotated[
        int,
        typer.Option(
            "--max-retries",
            metavar="N",
            min=1,
            help="Give up after N failed reconnects in a row.",
        ),
    ] = 10,
    reconnect_delay: Annotated[
        float,
        typer.Option(
            "--reconnect-delay",
            metavar="SECONDS",
            min=0.0,
            max=LONGEST_WAIT,
            help="Base of the randomised backoff; doubles per failure, up to 30 s.",
        ),
    ] = 0.5,
    max_event_bytes: Annotated[
        int,
        typer.Option(
            "--max-event-bytes",
            metavar="BYTES",
            min=1,
            help="Fail on any event larger than this.",
        ),
    ] = MEBIBYTE,
) -> None:
    """Follow a call's event stream (GET /v1/sessions/CALL_ID/stream).

    Without arguments, follows the call that mint-token saved last, on the
    API that minted it. A stream URL copied from a browser works as is. The
    API keeps one listener per call, so attaching to a call that a page is
    using may take its cards away; you are warned first.

    On a terminal, each event is a line, a card is drawn in full and
    heartbeats fold into one status line. --json prints one JSON object per
    event: its data, plus "_event" (the SSE event name, "message" unless the
    server names one) and "_id" (the SSE id, when the server sends ids); data
    that is JSON but not an object is under "_value", data that is not JSON
    under "_data". --raw prints {"event", "data", "id"} per message, data
    unparsed. --type and --until match the event's kind (ready, tool_call,
    tool_call_cancelled, heartbeat, unknown), its JSON "type" or its SSE
    event name.

    Drops, silences of three heartbeat intervals and 5xx answers are retried
    with backoff, each reported on stderr with the gap it may have left: the
    API does not replay missed events. A 401 or 404 stops at once, and so
    does a first connection that cannot be made at all. When the server ends
    the stream after sending events, the call is over: no reconnect.

    --answer asks for each card's action, then for its editable fields
    (Enter keeps a value, "-" empties it), one answer per line on stdin, and
    posts the result.

    Exit codes: 0 when --until or --max-events is met, when --timeout ends a
    watch that has neither, or when the server ends the stream; 1 when the
    stream ends or --timeout passes before --until or --max-events is met,
    or on an API error; 3 when the API is unreachable; 4 when the token is
    refused; 130 on Ctrl-C.

    Example: powsoo watch-events --until tool_call --timeout 60 --json
    """
    from dataclasses import replace

    from powsoo_cli import console, session_store
    from powsoo_cli.commands.common import saved_call, session_token_for
    from powsoo_cli.redact import register_secret

    register_secret(token)
    if json_output and raw:
        raise UsageError("--json and --raw cannot be used together")
    for flag, values in (("--type", types), ("--until", until)):
        if values and not all(value.strip() for value in values):
            raise UsageError(f"{flag} needs a non-empty event kind or type")

    opts = options(ctx)
    url_token = None
    if target is not None and "://" in target:
        url = parse_stream_url(target)
        register_secret(url.token)
        if opts.base_url and opts.base_url.rstrip("/") != url.base_url:
            raise UsageError(
                f"--base-url {opts.base_url} and the stream URL's "
                f"{url.base_url} disagree",
                hint="drop one of them",
            )
        saved = session_store.load()
        if saved is not None and saved.call_id != url.call_id:
            saved = None
        opts = replace(opts, base_url=url.base_url, _loaded=None)
        call_id, url_token = url.call_id, url.token
    else:
        if target is not None:
            check_call_id(target)
        opts, call_id, saved = saved_call(opts, target)

    settings = opts.loaded(heartbeat_interval=heartbeat_interval).settings
    session_token = session_token_for(
        call_id,
        given=(token, url_token),
        setting=settings.session_token,
        saved=saved,
    )

    if saved is None:
        # §13 #6: the API likely keeps only the newest listener of a call.
        console.warn(
            f"call {call_id} was not minted by this tool. If a page's widget "
            "is following it, this second listener may take its cards away "
            "from the widget."
        )

    _watch(
        opts,
        call_id,
        session_token,
        Plan(
            mode="raw" if raw else "json" if json_output else "view",
            types=frozenset(types or ()),
            until=frozenset(until or ()),
            max_events=max_events,
            timeout=timeout,
            answer=answer,
            heartbeat_interval=settings.heartbeat_interval,
            reconnect=not no_reconnect,
            max_retries=max_retries,
            reconnect_delay=reconnect_delay,
            max_event_bytes=max_event_bytes,
        ),
    )


@dataclass(frozen=True)
class Plan:
    """What to show and when to stop."""

    mode: Literal["view", "json", "raw"]
    types: frozenset[str]
    until: frozenset[str]
    max_events: int | None
    timeout: float | None
    answer: bool
    heartbeat_interval: float
    reconnect: bool
    max_retries: int
    reconnect_delay: float
    max_event_bytes: int

    @property
    def has_goal(self) -> bool:
        return bool(self.until) or self.max_events is not None


def _watch(opts: GlobalOptions, call_id: str, session_token: str, plan: Plan) -> None:
    import threading

    from powsoo_cli import console
    from powsoo_cli.runtime import debug, open_client
    from powsoo_cli.stream import EventReader, StreamStatus

    writer = _make_writer(plan)
    timed_out = threading.Event()

    def on_status(status: StreamStatus) -> None:
        if status.kind == "connected":
            if opts.debug:
                debug(f"stream open for call {call_id}")
            return
        writer.message(f"{console.PROGRAM}: {status.message}", style="yellow")

    try:
        with open_client(opts) as client:
            reader = EventReader(
                client,
                call_id,
                session_token,
                heartbeat_interval=plan.heartbeat_interval,
                reconnect=plan.reconnect,
                max_retries=plan.max_retries,
                backoff_base=plan.reconnect_delay,
                max_event_bytes=plan.max_event_bytes,
                on_status=on_status,
            )

            def on_deadline() -> None:
                timed_out.set()
                reader.stop()

            timer = None
            if plan.timeout is not None:
                timer = threading.Timer(plan.timeout, on_deadline)
                timer.daemon = True
                timer.start()
            try:
                shown, met = _follow(
                    reader, writer, plan, client, call_id, session_token
                )
            finally:
                if timer is not None:
                    timer.cancel()
    finally:
        writer.close()

    if met:
        return
    if timed_out.is_set():
        if plan.has_goal:
            raise PowsooError(
                f"{_goal(plan)} did not happen within {plan.timeout:g} s "
                f"({shown} event(s) shown)"
            )
        console.message(f"stopped after {plan.timeout:g} s (--timeout)", style="dim")
        return
    if reader.end_reason == "closed":
        if plan.has_goal:
            raise PowsooError(
                f"the server ended the stream before {_goal(plan)} "
                f"({shown} event(s) shown)"
            )
        console.message(
            "the server ended the stream: the call or its session is over",
            style="dim",
        )


def _goal(plan: Plan) -> str:
    goals = []
    if plan.until:
        goals.append("an event of type " + " or ".join(sorted(plan.until)))
    if plan.max_events is not None:
        goals.append(f"{plan.max_events} event(s)")
    return " or ".join(goals)


def _make_writer(plan: Plan) -> EventWriter:
    from powsoo_cli import console
    from powsoo_cli.render.events import (
        JsonLinesWriter,
        LiveView,
        PlainView,
        RawWriter,
    )

    if plan.mode == "raw":
        return RawWriter(sys.stdout)
    if plan.mode == "json":
        return JsonLinesWriter(sys.stdout)
    terminal = _isatty(sys.stdout)
    if terminal and console.styling_enabled(sys.stdout):
        return LiveView(console.out(), plan.heartbeat_interval)
    return PlainView(sys.stdout, console.out(), escape=terminal)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _follow(
    reader: EventReader,
    writer: EventWriter,
    plan: Plan,
    client: PowsooClient,
    call_id: str,
    session_token: str,
) -> tuple[int, bool]:
    """Show events until a goal is met or the stream ends: (shown, goal met)."""
    import contextlib

    from powsoo_cli.render.events import data_parser, labels_of, quick_kind

    types, until, limit = plan.types, plan.until, plan.max_events
    # Without filters or cards to answer, whole chunks go to the writer.
    per_event = bool(types or until or plan.answer)
    parse = data_parser()
    shown = 0
    met = False

    with contextlib.closing(reader.batches()) as batches:
        for batch in batches:
            if not per_event:
                if limit is not None and len(batch) >= limit - shown:
                    batch = batch[: limit - shown]
                    met = True
                writer.add_batch(batch)
                shown += len(batch)
                writer.flush()
                if met:
                    break
                continue

            for message in batch:
                data = parse(message.data)
                kind = quick_kind(data)
                labels = labels_of(message, data, kind)
                if not types or not labels.isdisjoint(types):
                    writer.add(message, data, kind)
                    shown += 1
                if plan.answer and kind == "tool_call":
                    writer.flush()
                    with writer.paused():
                        _answer(client, call_id, session_token, data)
                if until and not labels.isdisjoint(until):
                    met = True
                    break
                if limit is not None and shown >= limit:
                    met = True
                    break
            writer.flush()
            if met:
                break
    return shown, met


# --answer: play the widget's part for each card


class Prompter:
    """Questions on stderr, answers a line at a time from stdin.

    Works the same on a terminal and on a pipe, so that answers can be
    scripted; the end of stdin stops the command.
    """

    def __init__(self, answers: TextIO, questions: TextIO) -> None:
        self._in = answers
        self._out = questions
        self._echo = not _isatty(answers)

    def say(self, text: str) -> None:
        from powsoo_cli.render import safe

        self._out.write(safe(text) + "\n")
        self._out.flush()

    def ask(self, question: str) -> str:
        from powsoo_cli.render import safe

        self._out.write(safe(question))
        self._out.flush()
        line = self._in.readline()
        if not line:
            self._out.write("\n")
            raise PowsooError(
                "stdin ended while a card waited for an answer; no result was posted",
                hint="give one answer per line, or run --answer in a terminal",
            )
        answer = line.rstrip("\r\n")
        if self._echo:
            # Piped answers are not echoed by a terminal: keep the log readable.
            self._out.write(safe(answer) + "\n")
        return answer


def ask_result(card: Card, prompter: Prompter) -> CardResult:
    """The widget's result for a card, from the person's answers (§8.5)."""
    from powsoo_cli.models import CardResult

    count = len(card.actions)
    prompter.say(f"card: {card.title}")
    for number, action in enumerate(card.actions, start=1):
        prompter.say(f"  {number}) {action.label} ({action.value})")
    while True:
        reply = prompter.ask(f"action [1-{count}]: ").strip()
        chosen = _pick_action(card, reply)
        if chosen is not None:
            break
        prompter.say(f"choose a number from 1 to {count}, or an action's value")

    values = {field.label: field.value or "" for field in card.fields}
    edited: list[str] = []
    skipped = chosen.value.lower() in SKIP_VALUES
    editable = [field for field in card.fields if field.editable]
    if editable and not skipped:
        prompter.say('fields (Enter keeps the value, "-" empties it):')
        for field in editable:
            value = _ask_field(field, values[field.label], prompter)
            if value != values[field.label] and field.label not in edited:
                edited.append(field.label)
            values[field.label] = value

    status: Literal["confirmed", "edited", "skipped"] = (
        "skipped" if skipped else "edited" if edited else "confirmed"
    )
    return CardResult(status=status, action=chosen.value, fields=values, edited=edited)


def _pick_action(card: Card, reply: str) -> CardAction | None:
    # An action without a value cannot make a result (§8.5 needs one).
    if reply.isdigit() and 1 <= int(reply) <= len(card.actions):
        picked = card.actions[int(reply) - 1]
        return picked if picked.value else None
    for action in card.actions:
        if reply and reply.lower() in {action.value.lower(), action.label.lower()}:
            return action if action.value else None
    return None


def _ask_field(field: CardField, current: str, prompter: Prompter) -> str:
    kind = field.known_type
    options = field.options or []
    if kind in {"select", "multiselect"} and options:
        for number, option in enumerate(options, start=1):
            prompter.say(f"    {number}) {option.id} ({option.label})")
    hint = {
        "select": "number or id",
        "multiselect": "numbers or ids, comma-separated",
        "consent": "y/n",
        "date": "YYYY-MM-DD",
    }.get(kind, kind)

    while True:
        reply = prompter.ask(f"  {field.label} ({hint}) [{current}]: ").strip()
        if not reply:
            return current
        if reply == "-":
            return ""
        value, problem = _check_value(kind, reply, options)
        if problem is None:
            return value
        prompter.say(f"  {problem}")


def _check_value(kind: str, reply: str, options: list[Any]) -> tuple[str, str | None]:
    """The value to report for an answer, or why the answer does not fit."""
    if kind in {"select", "multiselect"} and options:
        ids = [option.id for option in options]
        picked = []
        for part in reply.split(",") if kind == "multiselect" else [reply]:
            part = part.strip()
            if part.isdigit() and 1 <= int(part) <= len(ids):
                picked.append(ids[int(part) - 1])
            elif part in ids:
                picked.append(part)
            else:
                return "", f"{part!r} is not one of the options"
        return ",".join(picked), None  # §13 #29: no spaces
    if kind == "consent":
        answer = reply.lower()
        if answer in {"y", "yes", "true", "1"}:
            return "true", None
        if answer in {"n", "no", "false", "0"}:
            return "false", None
        return "", "answer y or n"
    if kind == "date":
        from datetime import date

        try:
            date.fromisoformat(reply)
        except ValueError:
            return "", "a date looks like 2025-01-31"
        return (reply, None) if DATE.fullmatch(reply) else ("", "use YYYY-MM-DD")
    if kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+", reply):
        return "", "an email address looks like name@example.org"
    if kind == "phone":
        number = re.sub(r"[\s().-]", "", reply)
        if not E164.fullmatch(number):
            return "", "a phone number looks like +14155550123 (E.164)"
        return number, None
    return reply, None


def _answer(client: PowsooClient, call_id: str, session_token: str, data: Any) -> None:
    import json

    from powsoo_cli import console
    from powsoo_cli.models import ResultRequest, ToolCallEvent
    from powsoo_cli.render import safe

    event = ToolCallEvent.model_validate(data)
    if not event.toolCallId or not any(a.value for a in event.card.actions):
        # Asking would loop forever, or the result could name no card.
        console.warn(
            f"card {safe(event.toolCallId) or '(no toolCallId)'} has no action to "
            "choose or no id, so it cannot be answered; no result was posted"
        )
        return
    prompter = Prompter(sys.stdin, sys.stderr)
    result = ask_result(event.card, prompter)
    request = ResultRequest(toolCallId=event.toolCallId, result=result)
    try:
        client.post_result(call_id, session_token, request)
    except PowsooError as exc:
        # The card may have been withdrawn meanwhile; keep watching.
        console.warn(f"the result for {safe(event.toolCallId)} was not accepted: {exc}")
        return
    posted = json.dumps(
        result.model_dump(exclude_none=True), ensure_ascii=False, separators=(",", ":")
    )
    console.message(
        safe(f"posted the result for {event.toolCallId}: {posted}"), style="dim"
    )
