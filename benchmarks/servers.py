"""Servers for the benchmarks, each in a child process of its own.

`stream_server()` starts this file as a tiny asyncio server that answers
any path with ``200 text/event-stream``. The last path segment but one (the
call id of ``/v1/sessions/CALL/stream``) says what to send:

- ``bulk-N``: N heartbeat events, pre-built and written in big chunks, then
  the connection closes;
- ``paced-RATE-N``: N events at RATE per second, each stamped with
  ``time.time_ns()`` just before it is written (``"sent"``), then close;
- anything else: ten events, then close.

`standalone_sandbox()` starts ``python -m powsoo_cli sandbox --port 0`` and
reads its URL from the first line it prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream\r\n"
    b"cache-control: no-cache\r\n"
    b"connection: close\r\n\r\n"
)
BLOCK_EVENTS = 1000
WRITE_BYTES = 256 * 1024
CALL_OF_PATH = re.compile(rb"^[A-Z]+ [^ ]*?([^/ ?]+)/stream")


def heartbeat(n: int) -> bytes:
    return b'data: {"type":"heartbeat","at":"2026-01-01T00:00:00Z","n":%d}\n\n' % n


# One block of events, repeated as often as a bulk stream needs it.
BLOCK = b"".join(heartbeat(n) for n in range(BLOCK_EVENTS))


async def send_bulk(writer: asyncio.StreamWriter, count: int) -> None:
    blocks, rest = divmod(count, BLOCK_EVENTS)
    per_write = max(1, WRITE_BYTES // len(BLOCK))
    chunk = BLOCK * per_write
    while blocks >= per_write:
        writer.write(chunk)
        await writer.drain()
        blocks -= per_write
    writer.write(BLOCK * blocks + b"".join(heartbeat(n) for n in range(rest)))
    await writer.drain()


async def send_paced(writer: asyncio.StreamWriter, rate: float, count: int) -> None:
    # Absolute send times, so that a late wake-up does not shift the rest.
    start = time.monotonic()
    for n in range(count):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = time.time_ns()
        writer.write(
            b'data: {"type":"heartbeat","at":"2026-01-01T00:00:00Z",'
            b'"n":%d,"sent":%d}\n\n' % (n, sent)
        )
        await writer.drain()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(HEAD)
        match = CALL_OF_PATH.match(head)
        call = match.group(1).decode() if match else ""
        parts = call.split("-")
        if parts[0] == "bulk" and len(parts) == 2:
            await send_bulk(writer, int(parts[1]))
        elif parts[0] == "paced" and len(parts) == 3:
            await send_paced(writer, float(parts[1]), int(parts[2]))
        else:
            await send_bulk(writer, 10)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def serve() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


def drain(stream: IO[str]) -> None:
    with contextlib.suppress(ValueError, OSError):
        for _ in stream:
            pass


@contextmanager
def child(args: list[str]) -> Iterator[str]:
    """Run a server child; yield the first line it prints (on stdout or stderr)."""
    process = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if process.poll() is not None:
            raise RuntimeError(f"{args[1:]} did not start: {line}")
        # Keep reading what it logs, or it would block on a full pipe.
        threading.Thread(target=drain, args=(process.stdout,), daemon=True).start()
        yield line
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def stream_server() -> Iterator[str]:
    """The URL of a fresh stream server child."""
    with child([sys.executable, __file__]) as port:
        yield f"http://127.0.0.1:{int(port)}"


@contextmanager
def standalone_sandbox(*extra: str) -> Iterator[str]:
    """The URL of ``powsoo sandbox`` running as a child process."""
    args = [sys.executable, "-m", "powsoo_cli", "sandbox", "--port", "0", *extra]
    with child(args) as line:
        match = re.search(r"http://\S+", line)
        if match is None:
            raise RuntimeError(f"cannot read the sandbox URL from {line!r}")
        yield match.group(0)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
