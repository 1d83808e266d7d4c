"""A tiny scripted HTTP server on loopback, for faults no real server makes.

`BadServer` listens on 127.0.0.1 (or another loopback address) port 0 and
answers each request with the next scripted answer. An answer is a sequence
of steps written to the raw socket, so it can be anything: a well-formed
response, bytes no HTTP client would accept, a body cut short, a long
silence, a connection closed before a word. With ``tls=`` it speaks HTTPS.
The server counts connections and keeps every request it read, so a test
can also prove that nothing was sent at all.

    with BadServer(json_response(200, {"ok": True})) as server:
        ...  # point the client at server.url
    assert server.connections == 1

Steps: ``bytes`` (sent at once), `Send` (sent in pieces with pauses),
`Sleep`, `CLOSE` (close now), `RESET` (close with a TCP reset), `HOLD` (say
nothing until the client goes away or the server stops), `Forward` and
`Tunnel` (what a forward proxy does). An answer may also be a callable that
gets the `SeenRequest` and returns the steps. The i-th request gets the i-th
answer; the last one is repeated.

`ForwardProxy` is a `BadServer` that relays absolute-form requests and
``CONNECT`` tunnels to loopback targets only, counting what passes through.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024
REASONS = {
    200: "OK",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    407: "Proxy Authentication Required",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class SeenRequest:
    """One request as the server read it; header names are lower-case."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int

    @property
    def path(self) -> str:
        """The path of the target, also when it came in absolute form."""
        if self.target.startswith(("http://", "https://")):
            parts = urlsplit(self.target)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return self.target

    def json(self) -> Any:
        return json.loads(self.body)


# Steps of an answer


@dataclass(frozen=True)
class Send:
    """Bytes written ``size`` at a time with ``pause`` seconds between."""

    data: bytes
    size: int = 1
    pause: float = 0.0


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Forward:
    """Relay the request to a loopback server and its answer back, then close."""

    host: str
    port: int


@dataclass(frozen=True)
class Tunnel:
    """Answer a CONNECT with 200, then copy bytes both ways until one side ends."""

    host: str
    port: int


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


CLOSE = _Marker("CLOSE")
RESET = _Marker("RESET")
HOLD = _Marker("HOLD")

Step = bytes | Send | Sleep | Forward | Tunnel | _Marker
Steps = Sequence[Step]
Answer = Step | Steps | Callable[[SeenRequest], "Step | Steps"]


# Building raw answers


def response(
    status: int,
    body: bytes | str = b"",
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    length: bool = True,
    reason: str | None = None,
) -> bytes:
    """A complete HTTP/1.1 response; ``length=False`` leaves out Content-Length."""
    payload = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, 'Unknown')}"]
    if content_type and (payload or status != 204):
        lines.append(f"content-type: {content_type}")
    if length:
        lines.append(f"content-length: {len(payload)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def json_response(
    status: int, data: Any, *, headers: dict[str, str] | None = None
) -> bytes:
    return response(status, json.dumps(data), headers=headers)


def error_response(status: int, code: str, message: str = "refused") -> bytes:
    """The API's error envelope (shape B) with ``status``."""
    envelope = {"ok": False, "error": {"code": code, "message": message}}
    return json_response(status, {**envelope, "requestId": "req_bad"})


def html_page(status: int, title: str) -> bytes:
    page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
    page += f"<h1>{title}</h1></body></html>"
    return response(status, page, content_type="text/html; charset=utf-8")


def stream_head(
    status: int = 200,
    *,
    content_type: str = "text/event-stream",
    chunked: bool = False,
    headers: dict[str, str] | None = None,
) -> bytes:
    """The head of an open-ended answer: the body ends at close, or chunked."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines.append(f"content-type: {content_type}")
    lines.append("cache-control: no-cache")
    if chunked:
        lines.append("transfer-encoding: chunked")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One frame of a chunked body; ``chunk(b"")`` ends the body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def sse_event(data: Any, *, event_id: str | None = None) -> bytes:
    """One data-only SSE frame holding ``data`` as JSON (§6.2)."""
    text = data if isinstance(data, str) else json.dumps(data)
    frame = f"id: {event_id}\n" if event_id is not None else ""
    return (frame + f"data: {text}\n\n").encode()


def redirect(location: str, status: int = 302) -> bytes:
    return response(status, content_type=None, headers={"location": location})


# The server


class _Closed(Exception):
    """The client went away, or the answer closed the connection."""


class BadServer:
    """Serves scripted answers on 127.0.0.1 and counts what reached it."""

    def __init__(
        self,
        *answers: Answer,
        tls: ssl.SSLContext | None = None,
        read_timeout: float = 5.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.answers: list[Answer] = list(answers) or [response(404)]
        self.requests: list[SeenRequest] = []
        self.connections = 0
        self.tls_failures = 0
        self._tls = tls
        self._read_timeout = read_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._live: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, 0), family=family)
        # Polled: closing a socket from another thread does not wake accept().
        self._listener.settimeout(0.01)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def __enter__(self) -> BadServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting, end every held connection, and wait for the threads."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            live = list(self._live)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(5)
        for thread in list(self._threads):
            thread.join(5)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """True once ``count`` requests have arrived; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return True
            time.sleep(0.01)
        return len(self.requests) >= count

    # Connections

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
                self._live.add(conn)
            thread = threading.Thread(
                target=self._serve, args=(conn, number), daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        try:
            conn.settimeout(self._read_timeout)
            if self._tls is not None:
                conn = self._handshake(conn)
            reader = _Reader(conn)
            while not self._stopping.is_set():
                request = reader.request(number)
                if request is None:
                    return
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(request)
                steps = self._answer_for(index, request)
                self._play(conn, reader, request, steps)
        except (_Closed, OSError):
            pass
        finally:
            with self._lock:
                self._live.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _handshake(self, conn: socket.socket) -> socket.socket:
        assert self._tls is not None
        try:
            wrapped = self._tls.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            with self._lock:
                self.tls_failures += 1
            raise _Closed from None
        with self._lock:
            self._live.discard(conn)
            self._live.add(wrapped)
        return wrapped

    def _answer_for(self, index: int, request: SeenRequest) -> Steps:
        answer = self.answers[min(index, len(self.answers) - 1)]
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, (bytes, Send, Sleep, Forward, Tunnel, _Marker)):
            return [answer]
        return answer

    def _play(
        self, conn: socket.socket, reader: _Reader, request: SeenRequest, steps: Steps
    ) -> None:
        for step in steps:
            if isinstance(step, bytes):
                conn.sendall(step)
            elif isinstance(step, Send):
                for start in range(0, len(step.data), step.size):
                    conn.sendall(step.data[start : start + step.size])
                    if step.pause and self._stopping.wait(step.pause):
                        raise _Closed
            elif isinstance(step, Sleep):
                if self._stopping.wait(step.seconds):
                    raise _Closed
            elif step is CLOSE:
                raise _Closed
            elif step is RESET:
                # A zero linger time makes close() send RST instead of FIN.
                conn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                raise _Closed
            elif step is HOLD:
                self._hold(conn)
                raise _Closed
            elif isinstance(step, Forward):
                _forward(conn, request, step)
                raise _Closed
            elif isinstance(step, Tunnel):
                _tunnel(conn, reader, step, self._stopping)
                raise _Closed
            else:
                raise TypeError(f"not a step: {step!r}")

    def _hold(self, conn: socket.socket) -> None:
        # Silent until the client hangs up or the server stops.
        while not self._stopping.is_set():
            ready, _, _ = select.select([conn], [], [], 0.02)
            if ready:
                try:
                    if not conn.recv(65536):
                        return
                except OSError:
                    return


class _Reader:
    """Reads requests off one connection, keeping what runs past each one."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""

    def _more(self) -> bool:
        try:
            data = self.conn.recv(65536)
        except (TimeoutError, OSError):
            return False
        self.buffer += data
        return bool(data)

    def request(self, connection: int) -> SeenRequest | None:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD_BYTES or not self._more():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked()
        else:
            body = self._exactly(int(headers.get("content-length") or 0))
        return SeenRequest(method, target, headers, body, connection)

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._more():
                raise _Closed
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._more():
                raise _Closed
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _chunked(self) -> bytes:
        body = b""
        while True:
            size = int(self._line().split(b";")[0], 16)
            if size == 0:
                while self._line():
                    pass
                return body
            body += self._exactly(size)
            self._line()


# A forward proxy


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _forward(conn: socket.socket, request: SeenRequest, step: Forward) -> None:
    """Send the request on in origin form and copy the answer back whole."""
    headers = {
        name: value
        for name, value in request.headers.items()
        if name not in {"proxy-connection", "proxy-authorization", "connection"}
    }
    headers["connection"] = "close"
    head = [f"{request.method} {request.path} HTTP/1.1"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body
    with socket.create_connection((step.host, step.port), timeout=10) as upstream:
        upstream.sendall(raw)
        while data := upstream.recv(65536):
            conn.sendall(data)


def _tunnel(
    conn: socket.socket, reader: _Reader, step: Tunnel, stopping: threading.Event
) -> None:
    with socket.create_connection((step.host, step.port), timeout=10) as upstream:
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if reader.buffer:
            upstream.sendall(reader.buffer)
        pairs = {conn: upstream, upstream: conn}
        while not stopping.is_set():
            ready, _, _ = select.select(list(pairs), [], [], 0.02)
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                pairs[source].sendall(data)


def _hostport(authority: str, default_port: int) -> tuple[str, int]:
    host, _, port = authority.rpartition(":")
    if not host or not port.isdigit():
        return authority, default_port
    return host.strip("[]"), int(port)


class ForwardProxy(BadServer):
    """An HTTP proxy on loopback that relays to loopback targets only.

    Plain ``http://`` targets arrive in absolute form and are forwarded;
    ``https://`` targets arrive as ``CONNECT host:port`` and are tunnelled.
    Anything aimed off this machine gets a 502, never a connection.
    """

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        super().__init__(self._route)

    def _route(self, request: SeenRequest) -> Step | Steps:
        if request.method == "CONNECT":
            host, port = _hostport(request.target, 443)
            self.tunnels.append(request.target)
            target: Step = Tunnel(host, port)
        else:
            parts = urlsplit(request.target)
            host, port = parts.hostname or "", parts.port or 80
            target = Forward(host, port)
        if not _is_loopback(host):
            return response(502, "off-machine target", content_type="text/plain")
        return target
