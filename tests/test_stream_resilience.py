"""The event reader against a scripted raw-socket server: drops, stalls, 5xx,
401, HTML error pages, oversized events, and the deadline that ends a watch.

The server answers the n-th request with the n-th scripted reply (the last one
repeats), so each test states exactly what the network does.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from powsoo_cli.client import PowsooClient
from powsoo_cli.errors import ApiError, BadResponse
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.stream import EventReader, StreamStatus

TOKEN = "sst_resilience_test_token"
CALL = "call_resilience"
# The reader declares a stream dead after three of these without data.
HEARTBEAT = "0.2"


def event(data: object, *, id: str | None = None, extra: str = "") -> bytes:
    text = extra + (f"id: {id}\n" if id is not None else "")
    return (text + "data: " + json.dumps(data) + "\n\n").encode()


READY = {"type": "ready", "callId": CALL}
BEAT = {"type": "heartbeat", "at": "2025-01-01T00:00:00Z"}


@dataclass
class Reply:
    status_line: bytes
    headers: list[tuple[str, str]]
    chunks: list[bytes] = field(default_factory=list)
    # "clean": end the body properly; "drop": close mid-body; "stall": say
    # nothing more until the server stops; "body": a plain, complete body.
    end: str = "clean"


def stream(*events: bytes, end: str = "clean") -> Reply:
    return Reply(
        b"HTTP/1.1 200 OK",
        [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")],
        list(events),
        end,
    )


def answer(status: int, body: str, content_type: str = "application/json") -> Reply:
    line = f"HTTP/1.1 {status} Whatever".encode()
    return Reply(line, [("content-type", content_type)], [body.encode()], "body")


def api_error(status: int, code: str) -> Reply:
    body = {"ok": False, "error": {"code": code, "message": f"{code} here"}}
    return answer(status, json.dumps(body))


class ScriptedServer:
    """An HTTP/1.1 server on 127.0.0.1 that follows a script, one reply per
    request, and records each request's path and headers."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        # Closing a socket does not wake a thread blocked in accept(): poll.
        self._listener.settimeout(0.05)
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._stop.set()
        self._accepting.join(5)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.requests.append((lines[0].split(" ")[1], headers))
            index = min(len(self.requests), len(self.replies)) - 1
            # The client may go away first, which some tests intend.
            with contextlib.suppress(OSError):
                self._reply(conn, self.replies[index])

    def _reply(self, conn: socket.socket, reply: Reply) -> None:
        headers = [*reply.headers, ("connection", "close")]
        if reply.end == "body":
            body = b"".join(reply.chunks)
            headers.append(("content-length", str(len(body))))
        head = reply.status_line + b"\r\n"
        head += b"".join(f"{k}: {v}\r\n".encode() for k, v in headers) + b"\r\n"
        conn.sendall(head)
        if reply.end == "body":
            conn.sendall(body)
            return

        for chunk in reply.chunks:
            conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        if reply.end == "clean":
            conn.sendall(b"0\r\n\r\n")
        elif reply.end == "stall":
            self._stop.wait(10)
        # "drop": return, and the socket closes without the last chunk.


@pytest.fixture
def server_factory() -> Iterator[type[ScriptedServer]]:
    servers: list[ScriptedServer] = []

    class Tracked(ScriptedServer):
        def __init__(self, *replies: Reply) -> None:
            super().__init__(*replies)
            servers.append(self)

    yield Tracked
    for server in servers:
        server.close()


def watch(run_cli, server: ScriptedServer, *extra: str):
    return run_cli(
        "--base-url", server.url, "watch-events", CALL, "--token", TOKEN,
        "--json", "--heartbeat-interval", HEARTBEAT, "--reconnect-delay", "0.01",
        *extra,
    )  # fmt: skip


def lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_a_dropped_stream_is_resumed_with_last_event_id_and_reported(
    server_factory, run_cli
):
    server = server_factory(
        stream(event(READY, id="1"), event(BEAT, id="2"), end="drop"),
        stream(event(BEAT, id="3")),
    )

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["_id"] for item in lines(result.stdout)] == ["1", "2", "3"]
    assert len(server.requests) == 2
    assert "last-event-id" not in server.requests[0][1]
    assert server.requests[1][1]["last-event-id"] == "2"
    assert "the stream broke off" in result.stderr
    assert "reconnecting in" in result.stderr
    assert "may be missing" in result.stderr
    assert "resume after id '2'" in result.stderr


def test_a_silent_stream_is_declared_dead_after_three_heartbeats_and_reopened(
    server_factory, run_cli
):
    server = server_factory(stream(event(READY), end="stall"), stream(event(BEAT)))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["type"] for item in lines(result.stdout)] == ["ready", "heartbeat"]
    assert len(server.requests) == 2
    assert "sent nothing for" in result.stderr
    assert "reconnected after" in result.stderr


def test_503_answers_are_retried_until_the_stream_opens(server_factory, run_cli):
    unavailable = api_error(503, "overloaded")
    server = server_factory(unavailable, unavailable, stream(event(READY)))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert len(server.requests) == 3
    assert "overloaded (HTTP 503)" in result.stderr
    assert "attempt 1 of 10" in result.stderr
    assert "attempt 2 of 10" in result.stderr
    assert lines(result.stdout)[0]["type"] == "ready"


def test_a_401_stops_at_once_after_exactly_one_request(server_factory, run_cli):
    server = server_factory(api_error(401, "invalid_session_token"))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.TOKEN_REJECTED
    assert len(server.requests) == 1
    assert "invalid_session_token (HTTP 401)" in result.stderr
    assert "reconnecting" not in result.stderr
    assert result.stdout == ""


def test_a_404_stops_at_once_with_exit_1(server_factory, run_cli):
    server = server_factory(api_error(404, "session_not_found"))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.PROBLEM
    assert len(server.requests) == 1
    assert "session_not_found (HTTP 404)" in result.stderr


def test_an_html_502_page_is_explained_and_retried(server_factory, run_cli):
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server = server_factory(
        answer(502, page, "text/html"), stream(event(READY), event(BEAT))
    )

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert len(server.requests) == 2
    assert "HTML page titled '502 Bad Gateway'" in result.stderr
    assert "reconnecting in" in result.stderr
    assert len(lines(result.stdout)) == 2


def test_a_200_that_is_not_an_event_stream_fails_without_events_or_retries(
    server_factory, run_cli
):
    server = server_factory(answer(200, "<html>login</html>", "text/html"))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.PROBLEM
    assert len(server.requests) == 1
    assert "not text/event-stream" in result.stderr
    assert result.stdout == ""


def test_reconnects_give_up_after_max_retries_with_a_hint(server_factory, run_cli):
    server = server_factory(api_error(503, "overloaded"))

    result = watch(run_cli, server, "--max-retries", "2")

    assert result.exit_code == ExitCode.PROBLEM
    assert len(server.requests) == 3
    assert "gave up after 2 failed reconnects in a row" in result.stderr


def test_a_first_connection_that_is_refused_fails_at_once(run_cli):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    result = run_cli(
        "--base-url", f"http://127.0.0.1:{port}", "watch-events", CALL,
        "--token", TOKEN,
    )  # fmt: skip

    assert result.exit_code == ExitCode.UNREACHABLE
    assert "could not connect" in result.stderr
    assert "reconnecting" not in result.stderr


def test_no_reconnect_turns_a_drop_into_an_error(server_factory, run_cli):
    server = server_factory(stream(event(READY), end="drop"), stream(event(BEAT)))

    result = watch(run_cli, server, "--no-reconnect")

    assert result.exit_code == ExitCode.UNREACHABLE
    assert len(server.requests) == 1
    assert "the stream broke off" in result.stderr
    assert lines(result.stdout)[0]["type"] == "ready"


def test_an_event_over_max_event_bytes_is_a_clear_error(server_factory, run_cli):
    big = {"type": "transcript", "text": "x" * 5000}
    server = server_factory(stream(event(READY), event(big)))

    result = watch(run_cli, server, "--max-event-bytes", "1000")

    assert result.exit_code == ExitCode.PROBLEM
    assert "larger than the limit of 1000 bytes" in result.stderr
    assert "--max-event-bytes" in result.stderr
    assert [item["type"] for item in lines(result.stdout)] == ["ready"]


def test_timeout_ends_a_watch_blocked_on_a_quiet_socket(server_factory, run_cli):
    # A heartbeat interval of 60 s would keep the read waiting for 3 minutes.
    server = server_factory(stream(event(READY), end="stall"))

    result = run_cli(
        "--base-url", server.url, "watch-events", CALL, "--token", TOKEN,
        "--json", "--timeout", "0.3", "--heartbeat-interval", "60",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert "stopped after 0.3 s" in result.stderr
    assert len(server.requests) == 1


def test_a_clean_end_after_events_is_the_end_of_the_call(server_factory, run_cli):
    server = server_factory(stream(event(READY), event(BEAT)))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS
    assert len(server.requests) == 1
    assert "the call or its session is over" in result.stderr


def test_a_clean_end_before_until_is_met_exits_1(server_factory, run_cli):
    server = server_factory(stream(event(READY)))

    result = watch(run_cli, server, "--until", "tool_call")

    assert result.exit_code == ExitCode.PROBLEM
    assert "ended the stream before an event of type tool_call" in result.stderr


# The reader on its own

# For tests of the backoff arithmetic, which never connect.
NO_CLIENT: Any = None


@pytest.fixture
def reader_for() -> Iterator[Callable[..., EventReader]]:
    clients: list[PowsooClient] = []

    def make(server: ScriptedServer, **options: Any) -> EventReader:
        clients.append(PowsooClient(server.url))
        return EventReader(clients[-1], CALL, TOKEN, heartbeat_interval=0.2, **options)

    yield make
    for client in clients:
        client.close()


def test_retry_from_the_server_sets_the_least_wait(server_factory, reader_for):
    server = server_factory(
        stream(event(READY, extra="retry: 150\n"), end="drop"), stream(event(BEAT))
    )
    statuses: list[StreamStatus] = []
    reader = reader_for(server, on_status=statuses.append, jitter=lambda: 0.0)

    messages = [m for batch in reader.batches() for m in batch]

    assert len(messages) == 2
    retrying = [s for s in statuses if s.kind == "retrying"]
    assert [s.delay for s in retrying] == [0.15]
    assert reader.end_reason == "closed"


def test_a_huge_retry_is_clamped_to_a_minute(server_factory, reader_for):
    server = server_factory(
        stream(event(READY, extra="retry: 999999999\n"), end="drop")
    )
    statuses: list[StreamStatus] = []
    reader = reader_for(server, jitter=lambda: 0.0)

    def note(status: StreamStatus) -> None:
        statuses.append(status)
        if status.kind == "retrying":
            reader.stop()  # no need to sit out the wait

    reader._on_status = note
    list(reader.batches())

    assert [s.delay for s in statuses if s.kind == "retrying"] == [60.0]
    assert reader.end_reason == "stopped"


def test_retry_after_on_a_429_sets_the_least_wait(server_factory, reader_for):
    body = json.dumps({"ok": False, "error": {"code": "slow_down", "message": "no"}})
    server = server_factory(
        Reply(
            b"HTTP/1.1 429 Too Many Requests",
            [("content-type", "application/json"), ("retry-after", "7")],
            [body.encode()],
            "body",
        )
    )
    delays: list[float] = []
    reader = reader_for(server, jitter=lambda: 0.0)

    def note(status: StreamStatus) -> None:
        delays.append(status.delay)
        reader.stop()

    reader._on_status = note
    list(reader.batches())

    assert delays == [7.0]


def test_backoff_doubles_from_the_base_up_to_the_cap():
    reader = EventReader(
        NO_CLIENT,
        CALL,
        TOKEN,
        backoff_base=0.5,
        backoff_cap=30.0,
        jitter=lambda: 1.0,
    )

    ceilings = [reader._delay(n) for n in range(1, 10)]

    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_full_jitter_draws_anywhere_below_the_ceiling():
    reader = EventReader(NO_CLIENT, CALL, TOKEN, jitter=lambda: 0.25)

    assert reader._delay(3) == pytest.approx(0.25 * 2.0)


def test_the_read_timeout_follows_the_heartbeat_interval(server_factory, reader_for):
    server = server_factory(stream(event(READY)))
    reader = reader_for(server)

    list(reader.batches())

    assert reader.stall_after == pytest.approx(0.6)


def test_401_from_the_reader_is_raised_not_retried(server_factory, reader_for):
    server = server_factory(api_error(401, "invalid_session_token"))
    reader = reader_for(server)

    with pytest.raises(ApiError) as caught:
        list(reader.batches())

    assert caught.value.status == 401
    assert reader.requests == 1


def test_an_empty_clean_stream_is_retried_not_taken_for_the_end(
    server_factory, reader_for
):
    server = server_factory(stream(), stream(event(READY)))
    statuses: list[StreamStatus] = []
    reader = reader_for(server, on_status=statuses.append, backoff_base=0.01)

    messages = [m for batch in reader.batches() for m in batch]

    assert [json.loads(m.data)["type"] for m in messages] == ["ready"]
    assert reader.requests == 2
    assert "before sending any event" in statuses[1].message


def test_an_oversized_event_keeps_the_events_before_it(server_factory, reader_for):
    big = {"text": "y" * 3000}
    server = server_factory(stream(event(READY) + event(big)))
    reader = reader_for(server, max_event_bytes=1000)
    seen = []

    with pytest.raises(BadResponse):
        for batch in reader.batches():
            seen.extend(batch)

    assert [json.loads(m.data)["type"] for m in seen] == ["ready"]
