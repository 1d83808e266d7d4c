"""Incremental Server-Sent Events decoder, true to the WHATWG HTML standard.

httpx-sse 0.4.3 departs from "event stream interpretation" (each point checked by
running it): it keeps a leading BOM, losing the first event; it dispatches blocks
with no data, so after any `id` every heartbeat yields an empty message; `retry`
goes through int(), taking "-5", "+5" and "1_000"; it decodes with the response
charset instead of always UTF-8; and it holds a chunk-final CR until more bytes.
"""

from __future__ import annotations

import codecs
import decimal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = ["EventTooLarge", "SSEDecoder", "SSEMessage", "iter_messages"]

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One dispatched event, as a browser's MessageEvent would see it."""

    event: str
    data: str
    id: str
    retry: int | None


def _slot_setter(name: str) -> Callable[[SSEMessage, Any], None]:
    setter: Callable[[SSEMessage, Any], None] = vars(SSEMessage)[name].__set__
    return setter


# A frozen dataclass's __init__ pays one object.__setattr__ per field; setting
# the slots through their descriptors builds a message about twice as fast.
_new = object.__new__
_set_event = _slot_setter("event")
_set_data = _slot_setter("data")
_set_id = _slot_setter("id")
_set_retry = _slot_setter("retry")


class EventTooLarge(Exception):
    """A pending event outgrew max_event_bytes; the decoder has been reset.

    `messages` holds the events completed earlier in the same feed() call, so
    that nothing already decoded is lost.
    """

    def __init__(
        self, what: str, size: int, limit: int, messages: list[SSEMessage]
    ) -> None:
        super().__init__(
            f"SSE {what} of at least {size} bytes exceeds the "
            f"max_event_bytes limit of {limit} bytes"
        )
        self.size = size
        self.limit = limit
        self.messages = messages


def _utf8_size(text: str) -> int:
    # str.isascii() is O(1) in CPython, so the common case costs no encoding.
    return len(text) if text.isascii() else len(text.encode())


def _parse_retry(value: str) -> int | None:
    # Spec: "If the field value consists of only ASCII digits". int() alone
    # would also take "+5", " 5", "1_0" and non-ASCII digits.
    if not (value.isascii() and value.isdigit()):
        return None
    try:
        return int(value)
    except ValueError:
        # More digits than sys.get_int_max_str_digits(); Decimal has no cap.
        return int(decimal.Decimal(value))


class SSEDecoder:
    """Feed raw bytes as they arrive; get back the events they complete.

    `last_event_id` is the event source's "last event ID string": it is set
    from the last event ID buffer at every blank line, dispatched or not, so an
    `id` in an unfinished event never counts. `retry_ms` is the reconnection
    time, set as soon as a valid `retry` field is read. Both survive close(),
    for the reconnect that follows (Last-Event-ID header, delay).
    """

    def __init__(self, max_event_bytes: int | None = None) -> None:
        if max_event_bytes is not None and max_event_bytes < 1:
            raise ValueError("max_event_bytes must be a positive integer or None")
        self.max_event_bytes = max_event_bytes
        self.last_event_id = ""
        self.retry_ms: int | None = None
        self._reset_stream()

    def _reset_stream(self) -> None:
        # Spec: each stream gets fresh data and event type buffers. Its last
        # event ID buffer starts from the ID string kept over a reconnect, as
        # Chromium does; the spec's "" would let one heartbeat on the resumed
        # stream wipe the ID to resume from.
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._at_start = True
        self._pending_cr = False
        self._partial: list[str] = []
        self._partial_size = 0
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._id = self.last_event_id
        self._block_retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """Decode one chunk; return the events it completed, in order."""
        text = self._utf8.decode(chunk)
        if not text:
            return []

        # The UTF-8 decode algorithm strips one BOM, at the very start only.
        if self._at_start:
            self._at_start = False
            if text[0] == _BOM:
                text = text[1:]
                if not text:
                    return []

        # A CR that ended the previous chunk already ended its line; an LF
        # right after it belongs to the same CRLF and must not end another.
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []

        # Spec line ends are CRLF, LF and CR only; str.splitlines() would also
        # split on \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and \u2029.
        if "\r" in text:
            self._pending_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        tail = lines.pop()
        limit = self.max_event_bytes

        if not lines:
            self._partial.append(tail)
            if limit is not None:
                self._partial_size += _utf8_size(tail)
                if self._partial_size > limit:
                    self._overflow("line", self._partial_size, [])
            return []

        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
            self._partial_size = 0

        if limit is None:
            messages = self._process(lines)
        else:
            messages = self._process_bounded(lines, limit)

        if tail:
            self._partial.append(tail)
            if limit is not None:
                self._partial_size = _utf8_size(tail)
                if self._partial_size > limit:
                    self._overflow("line", self._partial_size, messages)
        return messages

    def _process_bounded(self, lines: list[str], limit: int) -> list[SSEMessage]:
        # Any line over the limit fails, complete or not, so where the chunks
        # happen to split cannot change the outcome. A UTF-8 character takes
        # at most 4 bytes, which spares the exact count for short lines.
        if max(map(len, lines)) * 4 > limit:
            for index, line in enumerate(lines):
                size = _utf8_size(line)
                if size > limit:
                    messages = self._process(lines[:index])
                    self._overflow("line", size, messages)
        return self._process(lines)

    def _process(self, lines: list[str]) -> list[SSEMessage]:
        # Hot loop: buffers live in locals and are written back at the end.
        messages: list[SSEMessage] = []
        append = messages.append
        limit = self.max_event_bytes
        data = self._data
        data_append = data.append
        data_size = self._data_size
        event = self._event
        last_id = self._id
        block_retry = self._block_retry
        public_id = self.last_event_id

        for line in lines:
            if not line:
                # Spec "dispatch the event": the last event ID string is set
                # first, even when the data buffer turns out to be empty.
                public_id = last_id
                if data:
                    message = _new(SSEMessage)
                    _set_event(message, event or "message")
                    _set_data(message, data[0] if len(data) == 1 else "\n".join(data))
                    _set_id(message, last_id)
                    _set_retry(message, block_retry)
                    append(message)
                    data.clear()
                    data_size = 0
                event = ""
                block_retry = None
                continue

            # Fast path for the usual "data: value" line.
            if line[:6] == "data: ":
                value = line[6:]
                data_append(value)
                if limit is not None:
                    # _utf8_size() inlined: this runs once per data line.
                    size = len(value) if value.isascii() else len(value.encode())
                    data_size += size + 1
                    if data_size - 1 > limit:
                        self.last_event_id = public_id
                        self._overflow("data buffer", data_size - 1, messages)
                continue

            # A comment line (leading ':') has an empty field name, which
            # matches no field below, so it falls through and is ignored.
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]

            if name == "data":
                data_append(value)
                if limit is not None:
                    # Size of the data as dispatched: values joined by LF.
                    size = len(value) if value.isascii() else len(value.encode())
                    data_size += size + 1
                    if data_size - 1 > limit:
                        self.last_event_id = public_id
                        self._overflow("data buffer", data_size - 1, messages)
            elif name == "event":
                event = value
            elif name == "id":
                # Spec: an id containing U+0000 NULL is ignored entirely.
                if "\0" not in value:
                    last_id = value
            elif name == "retry":
                retry = _parse_retry(value)
                if retry is not None:
                    self.retry_ms = block_retry = retry

        self.last_event_id = public_id
        self._data_size = data_size
        self._event = event
        self._id = last_id
        self._block_retry = block_retry
        return messages

    def _overflow(self, what: str, size: int, messages: list[SSEMessage]) -> NoReturn:
        # The rest of the stream cannot be trusted to resynchronise, so drop
        # all per-stream state; the caller should reconnect.
        self._reset_stream()
        raise EventTooLarge(what, size, self.max_event_bytes or 0, messages)

    @property
    def pending_bytes(self) -> int:
        """The size of the event begun but not finished: its data lines so
        far and the line not yet ended (unless that is a comment). If the
        stream ends now, that event is lost: non-zero means a gap."""
        size = sum(_utf8_size(line) + 1 for line in self._data)
        partial = "".join(self._partial)
        if partial and not partial.startswith(":"):
            size += _utf8_size(partial)
        return size

    def close(self) -> list[SSEMessage]:
        """End of stream: drop any unfinished event and reset for a new stream.

        Always returns []: per spec, "If the file ends in the middle of an
        event, before the final empty line, the incomplete event is not
        dispatched." last_event_id and retry_ms are kept for the reconnect.
        """
        self._reset_stream()
        return []


def iter_messages(
    chunks: Iterable[bytes], max_event_bytes: int | None = None
) -> Iterator[SSEMessage]:
    """Decode a whole stream given as byte chunks, yielding events as they end."""
    decoder = SSEDecoder(max_event_bytes)
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()
