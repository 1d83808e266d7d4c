"""stream.events: the call's event stream opens, says ready, then heartbeats.

A widget opens the stream right after minting (§11 step 4) and must get a
``ready`` event for its own call id, then heartbeats for as long as the call
lasts (§6). The stream is read in a helper thread so that the two waits are
exact deadlines; when they are over, the socket is shut down under the
reader, which wakes it at once.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from typing import Any

import httpx

from powsoo_cli.diagnose.base import (
    Answer,
    CheckResult,
    Run,
    refused,
    result,
    skipped,
)
from powsoo_cli.errors import ApiError, BadResponse, TransportError
from powsoo_cli.models import classify_event, event_kind
from powsoo_cli.sse import SSEDecoder

ID = "stream.events"
TITLE = "Event stream"
MAX_EVENT_BYTES = 1 << 20
CANCEL_POLL = 0.1

Item = tuple[str, Any, float]


def _read(response: httpx.Response, inbox: queue.Queue[Item]) -> None:
    decoder = SSEDecoder(max_event_bytes=MAX_EVENT_BYTES)
    try:
        for chunk in response.iter_bytes():
            for message in decoder.feed(chunk):
                inbox.put(("message", message, time.perf_counter()))
        inbox.put(("end", "the server closed the stream", time.perf_counter()))
    except Exception as exc:  # httpx errors, oversize events, our own shutdown
        inbox.put(("end", f"the stream broke: {exc}", time.perf_counter()))


def _interrupt(response: httpx.Response) -> None:
    """Wake a reader blocked in recv(); closing alone may not."""
    network = response.extensions.get("network_stream")
    sock = network.get_extra_info("socket") if network is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Watch:
    """What the stream said, and when."""

    def __init__(self) -> None:
        self.ready_after: float | None = None
        self.ready_call: str | None = None
        self.heartbeat_after: float | None = None
        self.kinds: list[str] = []
        self.ended: str | None = None


def _watch(
    inbox: queue.Queue[Item],
    opened: float,
    ready_wait: float,
    heartbeat_wait: float,
    cancelled: threading.Event,
) -> _Watch:
    seen = _Watch()
    deadline = opened + ready_wait
    while True:
        left = deadline - time.perf_counter()
        if left <= 0 or cancelled.is_set():
            return seen
        try:
            # Short slices, so that Ctrl-C does not sit out a long wait.
            kind, payload, at = inbox.get(timeout=min(left, CANCEL_POLL))
        except queue.Empty:
            continue
        if kind == "end":
            seen.ended = str(payload)
            return seen
        try:
            event = classify_event(json.loads(payload.data))
        except ValueError:
            seen.kinds.append("not JSON")
            continue
        name = event_kind(event)
        seen.kinds.append(name)
        if name == "ready" and seen.ready_after is None:
            seen.ready_after = at - opened
            seen.ready_call = getattr(event, "callId", None)
            if heartbeat_wait <= 0:
                return seen
            deadline = at + heartbeat_wait
        elif name == "heartbeat" and seen.ready_after is not None:
            seen.heartbeat_after = at - opened - seen.ready_after
            return seen


def _refused(answer: Answer, call_id: str) -> CheckResult:
    if answer.status == 401:
        detail = (
            f"{answer.describe()}: the stream refused the session token it was "
            "just given"
        )
        cause = "invalid_session_token"
    elif answer.status == 404:
        detail = f"{answer.describe()}: the stream does not know call {call_id}"
        cause = "stream_unavailable"
    else:
        detail = answer.describe()
        if answer.message and answer.status is not None:
            detail += f": {answer.message}"
        cause = "stream_unavailable"
    return result(
        ID, TITLE, "fail", detail, answers=(answer,), cause=cause, http=answer.status
    )


def check(run: Run) -> CheckResult:
    token = run.token
    if token is None:
        return skipped(ID, TITLE, "no token was minted")

    ready_wait = run.options.ready_wait
    heartbeat_wait = run.options.heartbeat_wait
    budget = ready_wait + max(0.0, heartbeat_wait) + 1.0
    started = time.perf_counter()
    inbox: queue.Queue[Item] = queue.Queue()
    try:
        with run.client.open_stream(
            token.callId, token.sessionToken, read_timeout=budget, origin=run.origin
        ) as response:
            opened = time.perf_counter()
            answer = Answer(
                response.status_code,
                request_id=response.headers.get("x-request-id")
                or response.request.headers.get("x-request-id"),
                elapsed=opened - started,
                headers=response.headers,
            )
            run.answers["stream"] = answer
            reader = threading.Thread(
                target=_read, args=(response, inbox), name="powsoo-stream", daemon=True
            )
            reader.start()
            try:
                seen = _watch(inbox, opened, ready_wait, heartbeat_wait, run.cancelled)
            finally:
                _interrupt(response)
                reader.join(timeout=1.0)
    except ApiError as exc:
        answer = refused(exc, time.perf_counter() - started)
        run.answers["stream"] = answer
        return _refused(answer, token.callId)
    except (BadResponse, TransportError) as exc:
        answer = Answer(
            None,
            message=exc.message,
            request_id=exc.request_id if isinstance(exc, BadResponse) else None,
            elapsed=time.perf_counter() - started,
            failure="bad_response" if isinstance(exc, BadResponse) else exc.kind,
        )
        return result(
            ID,
            TITLE,
            "fail",
            exc.message,
            answers=(answer,),
            cause="stream_unavailable",
        )

    found = _judge(seen, token.callId, ready_wait, heartbeat_wait, answer)
    found.duration = time.perf_counter() - started
    return found


def _judge(
    seen: _Watch, call_id: str, ready_wait: float, heartbeat_wait: float, answer: Answer
) -> CheckResult:
    tail = f" ({seen.ended})" if seen.ended else ""
    events = ", ".join(seen.kinds) or "none"
    if seen.ready_after is None:
        return result(
            ID,
            TITLE,
            "fail",
            f"opened, but no ready event within {ready_wait:g} s{tail}; "
            f"events seen: {events}",
            answers=(answer,),
            cause="stream_unavailable",
        )
    if seen.ready_call != call_id:
        return result(
            ID,
            TITLE,
            "fail",
            f"ready names call {seen.ready_call}, not {call_id}",
            answers=(answer,),
            cause="stream_unavailable",
        )
    ready = f"ready for {call_id} in {seen.ready_after * 1000:.0f} ms"
    if heartbeat_wait <= 0:
        return result(
            ID,
            TITLE,
            "pass",
            f"{ready}; heartbeat not awaited (--heartbeat-wait 0)",
            answers=(answer,),
        )
    if seen.heartbeat_after is None:
        return result(
            ID,
            TITLE,
            "fail",
            f"{ready}, but no heartbeat within {heartbeat_wait:g} s{tail}",
            answers=(answer,),
            cause="stream_unavailable",
        )
    return result(
        ID,
        TITLE,
        "pass",
        f"{ready}; heartbeat {seen.heartbeat_after:.2f} s later",
        answers=(answer,),
    )
