"""A call's event stream that survives drops, stalls and server hiccups.

`EventReader` opens ``GET /v1/sessions/{callId}/stream`` through the client,
decodes it with `powsoo_cli.sse`, and yields the messages each network chunk
completed. When the connection breaks, ends in the middle of an event, goes
silent for three heartbeat intervals, or the server answers 5xx, it
reconnects with exponential backoff and full jitter, sending
``Last-Event-ID`` once the stream has given ids. It never prints: every
reconnect and possible gap (an event cut short included) is reported to a
callback.

The API does not replay missed events (spec §6.2, §13 #4), so a reconnect
after a drop can hide a card: the reader says so every time.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import httpx

from powsoo_cli.errors import (
    ApiError,
    BadResponse,
    PowsooError,
    StreamStalled,
    TransportError,
)
from powsoo_cli.sse import EventTooLarge, SSEDecoder, SSEMessage

if TYPE_CHECKING:
    from powsoo_cli.client import PowsooClient

# A server's `retry:` is honoured, but only within these bounds (seconds).
RETRY_FLOOR = 0.1
RETRY_CEILING = 60.0
# Silence longer than this many heartbeat intervals means a dead connection.
STALL_FACTOR = 3.0
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
# A compressed body is unpacked at most this much at a time, so that a few
# kilobytes of gzip that unpack to gigabytes meet max_event_bytes first.
INFLATE_STEP = 64 * 1024

# Statuses worth another try: the server or a proxy may recover.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Failures that, before any connection ever worked, point at a wrong setup
# (host, port, proxy, certificates) rather than a passing fault: retrying
# them would only make the person wait for the same error.
SETUP_FAILURES = frozenset({"dns", "tls", "proxy", "connect"})

StatusKind = Literal["connected", "retrying", "reconnected"]
EndReason = Literal["closed", "stopped"]


@dataclass(frozen=True)
class StreamStatus:
    """Something the person watching should know about the connection."""

    kind: StatusKind
    message: str
    attempt: int = 0
    delay: float = 0.0


class EventReader:
    """Yields batches of `SSEMessage` from a call's stream, reconnecting.

    Iterate `batches()`; each list holds the messages one network chunk
    completed, in order. Iteration ends when the server closes the stream
    cleanly, between events, after sending some (the call or session ended,
    §13 #5) or when `stop()` is called; `end_reason` then says which.
    Failures that retrying cannot fix (401, 404, a body that is not an event
    stream, an oversized event, too many failed attempts) are raised as our
    errors.
    """

    def __init__(
        self,
        client: PowsooClient,
        call_id: str,
        session_token: str,
        *,
        heartbeat_interval: float = 15.0,
        reconnect: bool = True,
        max_retries: int = 10,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        on_status: Callable[[StreamStatus], None] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._call_id = call_id
        self._token = session_token
        self.stall_after = STALL_FACTOR * heartbeat_interval
        self._reconnect = reconnect
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_event_bytes = max_event_bytes
        self._on_status = on_status or (lambda status: None)
        self._jitter = jitter
        self._decoder = SSEDecoder(max_event_bytes)
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        self.requests = 0
        self.end_reason: EndReason | None = None

    @property
    def last_event_id(self) -> str:
        return self._decoder.last_event_id

    def stop(self) -> None:
        """End the iteration soon; safe to call from another thread.

        A read blocked on a quiet socket is woken by shutting the socket
        down: closing it from another thread would not wake the reader.
        """
        self._stop.set()
        response = self._response
        if response is None:
            return
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def batches(self) -> Generator[list[SSEMessage], None, None]:
        failures = 0
        ever_connected = False
        last_data_at: float | None = None

        while not self._stop.is_set():
            received = 0
            try:
                with self._open() as response:
                    if self._stop.is_set():
                        break
                    if ever_connected:
                        self._report_reconnect(last_data_at)
                    else:
                        self._on_status(StreamStatus("connected", "connected"))
                    ever_connected = True
                    last_data_at = time.monotonic()

                    feed = self._decoder.feed
                    for chunk in body_chunks(response):
                        last_data_at = time.monotonic()
                        messages = feed(chunk)
                        if messages:
                            received += len(messages)
                            failures = 0
                            yield messages
                        if self._stop.is_set():
                            break
                    unfinished = self._decoder.pending_bytes
                    self._decoder.close()

                if self._stop.is_set():
                    break
                problem: PowsooError
                if unfinished:
                    # A body that ends at the socket's close cannot tell a
                    # drop from an end, but a server ending the call would
                    # not stop halfway through an event.
                    problem = TransportError(
                        "the stream ended in the middle of an event; "
                        + _discarded(unfinished),
                        kind="protocol",
                    )
                elif received or not self._reconnect:
                    self.end_reason = "closed"
                    return
                else:
                    problem = BadResponse(
                        "the server closed the stream before sending any event"
                    )
            except EventTooLarge as exc:
                if exc.messages:
                    yield exc.messages
                raise BadResponse(
                    f"an event was larger than the limit of {exc.limit} bytes",
                    hint="raise --max-event-bytes if such events are expected",
                ) from None
            except httpx.HTTPError as exc:
                # Only reading the body gets here: the client translates the
                # failures of opening the stream itself.
                if self._stop.is_set():
                    break
                unfinished = self._decoder.pending_bytes
                self._decoder.close()
                problem = self._describe_break(exc, unfinished)
            except ApiError as exc:
                if not self._retryable(exc):
                    raise
                problem = exc
            except TransportError as exc:
                if exc.kind in SETUP_FAILURES and not ever_connected:
                    raise
                problem = exc

            if self._stop.is_set():
                break
            if not self._reconnect:
                raise problem
            failures += 1
            if failures > self._max_retries:
                problem.hint = (
                    f"gave up after {self._max_retries} failed reconnects in a "
                    "row; --max-retries allows more"
                )
                raise problem
            delay = self._delay(failures, _retry_after(problem))
            self._on_status(
                StreamStatus(
                    "retrying",
                    f"{problem.message}; reconnecting in {delay:.1f} s "
                    f"(attempt {failures} of {self._max_retries})",
                    attempt=failures,
                    delay=delay,
                )
            )
            if self._stop.wait(delay):
                break

        self.end_reason = "stopped"

    @contextlib.contextmanager
    def _open(self) -> Iterator[httpx.Response]:
        self.requests += 1
        with self._client.open_stream(
            self._call_id,
            self._token,
            last_event_id=self._decoder.last_event_id or None,
            read_timeout=self.stall_after,
        ) as response:
            self._response = response
            try:
                yield response
            finally:
                self._response = None

    def _describe_break(self, exc: httpx.HTTPError, unfinished: int) -> PowsooError:
        problem: TransportError
        if isinstance(exc, httpx.ReadTimeout):
            problem = StreamStalled(self.stall_after)
        else:
            detail = str(exc) or type(exc).__name__
            problem = TransportError(f"the stream broke off: {detail}", kind="protocol")
        if unfinished:
            text = f"{problem.message}; {_discarded(unfinished)}"
            problem = TransportError(text, kind=problem.kind)
        return problem

    @staticmethod
    def _retryable(exc: ApiError) -> bool:
        return exc.status >= 500 or exc.status in RETRYABLE_STATUSES

    def _delay(self, failures: int, retry_after: float | None = None) -> float:
        """Full jitter: a random wait up to an exponentially growing ceiling.

        A ``retry:`` the stream sent, or the ``Retry-After`` of an error
        answer, sets the least wait (as for a browser's EventSource), clamped
        to sane bounds.
        """
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** (failures - 1))
        delay = self._jitter() * ceiling
        retry_ms = self._decoder.retry_ms
        for asked in (retry_ms / 1000 if retry_ms is not None else None, retry_after):
            if asked is not None:
                delay = max(delay, min(max(asked, RETRY_FLOOR), RETRY_CEILING))
        return delay

    def _report_reconnect(self, last_data_at: float | None) -> None:
        silent = time.monotonic() - last_data_at if last_data_at else 0.0
        text = (
            f"reconnected after {silent:.1f} s without data; events sent "
            "meanwhile may be missing (the API does not replay them)"
        )
        if self._decoder.last_event_id:
            text += f"; asked to resume after id {self._decoder.last_event_id!r}"
        self._on_status(StreamStatus("reconnected", text))


def _retry_after(problem: PowsooError) -> float | None:
    """The seconds of a ``Retry-After: N`` header on an error answer."""
    headers = problem.headers if isinstance(problem, ApiError) else None
    value = (headers or {}).get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _discarded(size: int) -> str:
    return f"an unfinished event ({size} bytes) was discarded"


def body_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body's bytes as they arrive, unpacked from gzip or deflate in
    bounded steps; httpx would unpack each network read whole, whatever its
    size, and keep only the first member of a multi-member gzip body."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in {"gzip", "x-gzip", "deflate"}:
        return _inflate(response.iter_raw(), encoding)
    return response.iter_bytes()


def _inflate(raw: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    # 32 + MAX_WBITS reads a gzip or a zlib header, whichever comes.
    unpack = zlib.decompressobj(32 + zlib.MAX_WBITS)
    fresh = True
    for data in raw:
        while True:
            try:
                out = unpack.decompress(data, INFLATE_STEP)
            except zlib.error as exc:
                if fresh and encoding == "deflate":
                    # Some servers send deflate without its zlib wrapper.
                    unpack = zlib.decompressobj(-zlib.MAX_WBITS)
                    fresh = False
                    continue
                raise httpx.DecodingError(
                    f"the {encoding} body could not be unpacked: {exc}"
                ) from None
            fresh = False
            data = unpack.unconsumed_tail
            if unpack.eof and unpack.unused_data:
                # Another gzip member follows, as when each event is packed
                # on its own.
                data = unpack.unused_data
                unpack = zlib.decompressobj(32 + zlib.MAX_WBITS)
            if out:
                yield out
            # A full step may leave output inside zlib with no input left.
            if not data and len(out) < INFLATE_STEP:
                break
