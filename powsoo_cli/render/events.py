"""Writers for a call's live event stream: JSON lines, raw messages, a view.

Every writer takes the messages of one network chunk (`add_batch`, or `add`
one at a time once they are parsed) and then `flush`es, which writes them
with one call, so that a fast stream costs a system call per chunk rather
than per event. Streamed text
is never read as rich markup, and control characters from the server are
shown escaped on a terminal rather than sent to it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Any, Final, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from powsoo_cli.models import ToolCallEvent, classify_event, event_kind
from powsoo_cli.render import safe
from powsoo_cli.sse import SSEMessage


class _NotJson:
    def __repr__(self) -> str:
        return "NOT_JSON"


# The parsed data of a message whose data is not JSON at all.
NOT_JSON: Final = _NotJson()

KINDS = ("ready", "tool_call", "tool_call_cancelled", "heartbeat", "unknown")
_KIND_WIDTH = max(map(len, KINDS))
_STYLE_OF_KIND = {
    "ready": "green",
    "tool_call": "bold cyan",
    "tool_call_cancelled": "yellow",
    "heartbeat": "dim",
    "unknown": "magenta",
}

# A JSON string literal, non-ASCII kept (C-accelerated in CPython).
_quote: Callable[[str], str] = json.encoder.encode_basestring


def parse_data(data: str) -> Any:
    """The message's data as JSON, or `NOT_JSON`."""
    try:
        return json.loads(data)
    except ValueError:
        return NOT_JSON


def data_parser() -> Callable[[str], Any]:
    """`parse_data`, made cheap for the common case of bare compact JSON.

    json.loads spends most of its time around the C scanner: two regular
    expressions for surrounding white space and a check of what is left.
    Calling the scanner directly and falling back to json.loads whenever it
    does not consume the whole text gives the same answers for less.
    """
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

    def parse(data: str) -> Any:
        try:
            value, end = scan(data, 0)
        except (StopIteration, ValueError):
            return parse_data(data)
        return value if end == len(data) else parse_data(data)

    return parse


def compact_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, faster.

    JSONEncoder.encode builds a new C encoder for every call; this builds
    it once. The C encoder is an implementation detail of CPython's json,
    so it is checked against the documented path and skipped if absent.
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encode

    def refuse(value: Any) -> Any:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    try:
        iterencode = make(
            None, refuse, json.encoder.encode_basestring, None, ":", ",",
            False, False, True,
        )  # fmt: skip
        probe = {"a": [1, 2.5, None, True], "é": 'x"\n'}
        if "".join(iterencode(probe, 0)) != encode(probe):
            return encode
    except Exception:
        return encode

    def fast(value: Any) -> str:
        return "".join(iterencode(value, 0))

    return fast


def quick_kind(data: Any) -> str:
    """The kind `classify_event` would give, without pydantic for the common ones.

    Heartbeats and ready events arrive by the thousand and are checked by
    hand with the same shape rules (§6.3); cards and cancellations are rare
    and go through the models, so a malformed card is "unknown" either way.
    """
    if type(data) is not dict:
        return "unknown"
    if "card" in data or "toolCallId" in data:
        return event_kind(classify_event(data))
    if "at" in data:
        # pydantic takes an ISO string or a Unix time for a datetime; a string
        # it cannot parse is the one case where the two may disagree.
        return "heartbeat" if type(data["at"]) in (str, int, float) else "unknown"
    if data.get("type") == "ready" and isinstance(data.get("callId"), str):
        return "ready"
    return "unknown"


def labels_of(message: SSEMessage, data: Any, kind: str) -> set[str]:
    """Every name a --type or --until value may use for this event."""
    labels = {kind}
    if type(data) is dict:
        raw_type = data.get("type")
        if isinstance(raw_type, str):
            labels.add(raw_type)
    if message.event != "message":
        labels.add(message.event)
    return labels


def _flat(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def event_detail(message: SSEMessage, data: Any, kind: str) -> str:
    """The part of an event line after its time and kind."""
    if kind == "heartbeat":
        detail = f"at {_flat(data['at'])}"
    elif kind == "ready":
        detail = f"call {data['callId']}"
    elif kind == "tool_call":
        card = data["card"]
        detail = f"{data['toolCallId']}  {_flat(card.get('title'))}"
    elif kind == "tool_call_cancelled":
        reason = data.get("reason")
        detail = str(data["toolCallId"])
        if reason is not None:
            detail += f"  reason: {_flat(reason)}"
    else:
        detail = message.data.replace("\n", "\\n")
    if message.event != "message":
        detail += f"  [event {message.event}]"
    if message.id:
        detail += f"  [id {message.id}]"
    return detail


class Clock:
    """Local wall-clock time as HH:MM:SS, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%H:%M:%S", time.localtime(now))
        return self._text


# The card, as a panel (spec §8)


def card_panel(event: ToolCallEvent) -> Panel:
    """Title, description, fields and numbered actions of one card."""
    card = event.card
    parts: list[RenderableType] = []
    if card.description:
        parts.append(Text(safe(card.description)))

    if card.fields:
        fields = Table.grid(padding=(0, 2))
        fields.add_column(style="bold", no_wrap=True)
        fields.add_column(style="dim", no_wrap=True)
        fields.add_column(overflow="fold")
        fields.add_column(no_wrap=True)
        for field in card.fields:
            kind = field.type
            if field.known_type != kind:
                kind += " (shown as text)"
            value = Text(safe(field.value)) if field.value else Text("(empty)", "dim")
            editable = (
                Text("editable", "green")
                if field.editable
                else Text("read-only", "dim")
            )
            fields.add_row(Text(safe(field.label)), Text(safe(kind)), value, editable)
            if field.options:
                chosen = set((field.value or "").split(","))
                listed = Text("options: ", style="dim")
                for index, option in enumerate(field.options):
                    if index:
                        listed.append(" · ", style="dim")
                    style = "bold" if option.id in chosen else ""
                    listed.append(f"{safe(option.id)}={safe(option.label)}", style)
                fields.add_row("", "", listed, "")
        parts.extend([Text("Fields", style="bold underline"), fields])

    actions = Table.grid(padding=(0, 2))
    actions.add_column(justify="right", style="bold")
    actions.add_column(style="bold")
    actions.add_column()
    actions.add_column(style="dim")
    for number, action in enumerate(card.actions, start=1):
        actions.add_row(
            str(number),
            Text(safe(action.label)),
            Text(safe(action.value)),
            Text(safe(action.style or "")),
        )
    parts.extend([Text("Actions", style="bold underline"), actions])

    return Panel(
        Group(*parts),
        title=Text(safe(card.title), style="bold"),
        title_align="left",
        subtitle=Text(safe(event.toolCallId), style="dim"),
        subtitle_align="right",
        border_style="cyan",
        expand=False,
    )


# The writers


class EventWriter(Protocol):
    def add(self, message: SSEMessage, data: Any, kind: str) -> None:
        """One event whose data is parsed (or `NOT_JSON`) and kind known."""

    def add_batch(self, messages: list[SSEMessage]) -> None:
        """Several events, parsed and classified as the writer needs."""

    def flush(self) -> None: ...

    def message(self, text: str, style: str | None = None) -> None:
        """A line for the person, on stderr, without disturbing the view."""

    def paused(self) -> AbstractContextManager[None]:
        """A context in which the terminal belongs to someone else."""

    def close(self) -> None: ...


class _LineWriter:
    """Lines gathered per chunk, written and flushed together."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lines: list[str] = []
        self._parse = data_parser()

    def add(self, message: SSEMessage, data: Any, kind: str) -> None:
        raise NotImplementedError

    def add_batch(self, messages: list[SSEMessage]) -> None:
        parse, add = self._parse, self.add
        for message in messages:
            data = parse(message.data)
            add(message, data, quick_kind(data))

    def flush(self) -> None:
        if self._lines:
            # Taken off the list before writing: Ctrl-C landing right after
            # the write must not make `close` write the same lines again.
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            self._stream.write(text)
            self._stream.flush()

    def message(self, text: str, style: str | None = None) -> None:
        from powsoo_cli import console

        console.message(text, style=style)

    @contextmanager
    def paused(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        self.flush()


class JsonLinesWriter(_LineWriter):
    """One JSON object per event and line: its data plus ``_event`` and ``_id``.

    Data that is JSON but not an object comes as ``_value``; data that is not
    JSON at all comes as the string ``_data``.
    """

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self._encode = compact_encoder()
        self._scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

    def add(self, message: SSEMessage, data: Any, kind: str) -> None:
        if type(data) is dict:
            if _spliceable(message.data, data):
                self._lines.append(_splice(message))
                return
            item = data
        elif data is NOT_JSON:
            item = {"_data": message.data}
        else:
            item = {"_value": data}
        item["_event"] = message.event
        if message.id:
            item["_id"] = message.id
        self._lines.append(self._encode(item))

    def add_batch(self, messages: list[SSEMessage]) -> None:
        # The common case inlined: an object on one line, no event name, no
        # id. An object that the scanner read to the very end of the text
        # starts with "{" and ends with "}".
        scan, add, append = self._scan, self.add, self._lines.append
        for message in messages:
            text = message.data
            try:
                data, end = scan(text, 0)
            except (StopIteration, ValueError):
                add(message, parse_data(text), "")
                continue
            if end != len(text):
                add(message, parse_data(text), "")
            elif (
                type(data) is dict
                and data
                and message.event == "message"
                and not message.id
                and "\n" not in text
                and '"_event"' not in text
                and '"_id"' not in text
            ):
                append(text[:-1] + _PLAIN_TAIL)
            else:
                add(message, data, "")


# A one-line object the server sent is kept as sent, with our keys spliced
# in before its closing brace: re-encoding it would cost more than all the
# rest of the work together and change nothing but insignificant spaces.
_PLAIN_TAIL = ',"_event":"message"}'


def _spliceable(text: str, data: dict[str, Any]) -> bool:
    return bool(
        data
        and text[-1:] == "}"
        and "\n" not in text
        and '"_event"' not in text
        and '"_id"' not in text
    )


def _splice(message: SSEMessage) -> str:
    tail = f',"_event":{_quote(message.event)}'
    if message.id:
        tail += f',"_id":{_quote(message.id)}'
    return f"{message.data[:-1]}{tail}}}"


class RawWriter(_LineWriter):
    """One JSON object per SSE message as parsed: ``event``, ``data``, ``id``."""

    def add(self, message: SSEMessage, data: Any, kind: str) -> None:
        # Three strings need no general encoder: escape each and join.
        quote = _quote
        self._lines.append(
            f'{{"event":{quote(message.event)},"data":{quote(message.data)},'
            f'"id":{quote(message.id)}}}'
        )

    def add_batch(self, messages: list[SSEMessage]) -> None:
        add = self.add
        for message in messages:
            add(message, NOT_JSON, "")


class PlainView(_LineWriter):
    """A line per event, formatted by hand; cards drawn as panels.

    For pipes and plain terminals: heartbeats are ordinary lines here, and
    nothing but the cards goes through rich.
    """

    def __init__(self, stream: IO[str], console: Console, *, escape: bool) -> None:
        super().__init__(stream)
        self._console = console
        self._escape = escape
        self._clock = Clock()

    def add(self, message: SSEMessage, data: Any, kind: str) -> None:
        line = (
            f"{self._clock.now()}  {kind:<{_KIND_WIDTH}}  "
            f"{event_detail(message, data, kind)}"
        )
        self._lines.append(safe(line) if self._escape else line)
        if kind == "tool_call":
            self.flush()
            self._console.print(card_panel(ToolCallEvent.model_validate(data)))


class HeartbeatStatus:
    """The one line that stands for every heartbeat: how long since the last."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.count = 0
        self.last_at: float | None = None
        self.last_clock = ""

    def beat(self, clock: str) -> None:
        self.count += 1
        self.last_at = time.monotonic()
        self.last_clock = clock

    def __rich__(self) -> Text:
        if self.last_at is None:
            return Text("waiting for the first heartbeat…", style="dim")
        age = time.monotonic() - self.last_at
        style = "dim"
        if age > 2 * self.interval:
            style = "yellow"
        if age > 3 * self.interval:
            style = "bold red"
        plural = "" if self.count == 1 else "s"
        return Text(
            f"♥ last heartbeat {age:.0f} s ago (at {self.last_clock}) · "
            f"{self.count} heartbeat{plural}",
            style=style,
        )


class LiveView(_LineWriter):
    """The terminal view: event lines above one live heartbeat status line."""

    def __init__(self, console: Console, heartbeat_interval: float) -> None:
        super().__init__(console.file)
        self._console = console
        self._clock = Clock()
        self.status = HeartbeatStatus(heartbeat_interval)
        self._live = Live(
            self.status,
            console=console,
            refresh_per_second=2,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def add(self, message: SSEMessage, data: Any, kind: str) -> None:
        clock = self._clock.now()
        if kind == "heartbeat":
            self.status.beat(clock)
            return

        line = Text(f"{clock}  ")
        line.append(f"{kind:<{_KIND_WIDTH}}", style=_STYLE_OF_KIND[kind])
        line.append("  " + safe(event_detail(message, data, kind)))
        self._live.console.print(line, soft_wrap=True)
        if kind == "tool_call":
            self._live.console.print(card_panel(ToolCallEvent.model_validate(data)))

    def flush(self) -> None:
        pass

    def message(self, text: str, style: str | None = None) -> None:
        with self.paused():
            super().message(text, style)

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def close(self) -> None:
        self._live.stop()
