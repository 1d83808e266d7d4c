"""The sandbox under load: card round trips while 200 calls stream at once.

Against a standalone sandbox child process, this process mints 200 calls
and keeps one event stream open for each, then plays Retell and the widget
for many cards: POST show-card (held by the sandbox), wait for the card on
the call's stream, and POST the result. The figure is the time from just
before the result is sent to the held show-card answer arriving.

The clients are raw asyncio connections with just enough HTTP/1.1 for the
sandbox's answers (a Content-Length or a chunked body), so that the client
side costs as little as possible.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harness import Row, percentile

CALLS = 200
# Paced: every call shows a card every CALLS / RATE = 2 s, far busier than a
# conversation. Saturated: this many cards at once, to show the capacity.
RATE = 100
IN_FLIGHT = 50
LIMIT = 0.050
ORIGIN = "https://shop.example"
CARD = {
    "title": "Confirm the booking",
    "fields": [{"label": "Name", "value": "Ada", "type": "text"}],
    "actions": [{"label": "Confirm", "value": "confirm", "style": "primary"}],
}
RESULT = {"status": "confirmed", "action": "confirm", "fields": {"Name": "Ada"}}
# The sandbox is started with this heartbeat, so the streams carry traffic.
HEARTBEAT = "1"


@dataclass
class Reply:
    status: int
    body: bytes


@dataclass
class Call:
    call_id: str
    token: str
    cards: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)


class Connection:
    """One HTTP/1.1 connection, used for one request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        # asyncio sets TCP_NODELAY on TCP transports by itself.
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    def send(
        self, method: str, path: str, headers: dict[str, str], body: object = None
    ) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", "host: sandbox", "connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines += ["content-type: application/json", f"content-length: {len(data)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)

    async def head(self) -> tuple[int, dict[str, str]]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers

    async def chunks(self, headers: dict[str, str]) -> AsyncIterator[bytes]:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                yield (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readline()
        elif "content-length" in headers:
            yield await self.reader.readexactly(int(headers["content-length"]))

    async def reply(self) -> Reply:
        status, headers = await self.head()
        body = b"".join([chunk async for chunk in self.chunks(headers)])
        return Reply(status, body)

    def close(self) -> None:
        self.writer.close()


class Load:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.host, self.port = parts.hostname, parts.port

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: object = None
    ) -> Reply:
        connection = await Connection.open(self.host, self.port)
        try:
            connection.send(method, path, headers, body)
            return await connection.reply()
        finally:
            connection.close()

    async def mint(self) -> Call:
        reply = await self.request(
            "POST", "/v1/voice-tokens", {"origin": ORIGIN}, {"widgetId": "wid_demo"}
        )
        if reply.status != 200:
            raise RuntimeError(f"mint answered {reply.status}: {reply.body!r}")
        token = json.loads(reply.body)
        return Call(token["callId"], token["sessionToken"])

    async def follow(self, call: Call, opened: asyncio.Event) -> None:
        """Read the call's stream; put each card's toolCallId on its queue."""
        connection = await Connection.open(self.host, self.port)
        try:
            connection.send(
                "GET",
                f"/v1/sessions/{call.call_id}/stream",
                {"x-powsoo-session-token": call.token},
            )
            status, headers = await connection.head()
            if status != 200:
                raise RuntimeError(f"the stream answered {status}")
            opened.set()
            pending = b""
            async for chunk in connection.chunks(headers):
                *frames, pending = (pending + chunk).split(b"\n\n")
                for frame in frames:
                    if frame.startswith(b"data: "):
                        event = json.loads(frame[6:])
                        if event.get("type") == "tool_call":
                            call.cards.put_nowait(event["toolCallId"])
        finally:
            connection.close()

    async def round_trip(self, call: Call) -> float:
        """One card, shown and answered: seconds from the result to the answer."""
        async with call.busy:
            webhook = await Connection.open(self.host, self.port)
            webhook.send(
                "POST",
                "/v1/retell/tools/show-card",
                {},
                {
                    "name": "powsoo_show_card",
                    "args": CARD,
                    "call": {"call_id": call.call_id},
                },
            )

            async def held() -> tuple[Reply, float]:
                reply = await webhook.reply()
                return reply, time.perf_counter()

            answered = asyncio.create_task(held())
            tool_call_id = await asyncio.wait_for(call.cards.get(), 10)

            # Connected beforehand: the figure is the sandbox's, not connect's.
            poster = await Connection.open(self.host, self.port)
            start = time.perf_counter()
            poster.send(
                "POST",
                f"/v1/sessions/{call.call_id}/results",
                {"x-powsoo-session-token": call.token},
                {"toolCallId": tool_call_id, "result": RESULT},
            )
            posted = await poster.reply()
            reply, end = await asyncio.wait_for(answered, 10)
            poster.close()
            webhook.close()
        if posted.status != 204 or reply.status != 200:
            raise RuntimeError(
                f"result {posted.status}, show-card {reply.status}: {reply.body!r}"
            )
        return end - start


async def paced(load: Load, calls: list[Call], trips: int) -> list[float]:
    """Open loop: a card every 1/RATE s, whatever the sandbox is doing."""
    start = time.monotonic()

    async def one(index: int) -> float:
        await asyncio.sleep(max(0.0, start + index / RATE - time.monotonic()))
        return await load.round_trip(calls[index % len(calls)])

    return await asyncio.gather(*(one(index) for index in range(trips)))


async def saturated(load: Load, calls: list[Call], trips: int) -> list[float]:
    """Closed loop: IN_FLIGHT cards at all times, as fast as they go."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(index: int) -> float:
        async with slots:
            return await load.round_trip(calls[index % len(calls)])

    return await asyncio.gather(*(one(index) for index in range(trips)))


async def measure(url: str, trips: int) -> tuple[list[float], list[float], float]:
    """Delays paced, delays saturated, and round trips per second saturated."""
    load = Load(url)
    minting = asyncio.Semaphore(20)

    async def mint() -> Call:
        async with minting:
            return await load.mint()

    calls = list(await asyncio.gather(*(mint() for _ in range(CALLS))))
    opened = [asyncio.Event() for _ in calls]
    streams = [
        asyncio.create_task(load.follow(call, event))
        for call, event in zip(calls, opened, strict=True)
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in opened)), 30)
        open_loop = await paced(load, calls, trips)
        start = time.perf_counter()
        closed_loop = await saturated(load, calls, trips)
        per_second = trips / (time.perf_counter() - start)
        return open_loop, closed_loop, per_second
    finally:
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)


def run(url: str, quick: bool) -> list[Row]:
    trips = 200 if quick else 1000
    open_loop, closed_loop, per_second = asyncio.run(measure(url, trips))
    p99, p50 = percentile(open_loop, 0.99), percentile(open_loop, 0.5)
    worst = percentile(closed_loop, 0.99)
    return [
        Row(
            f"sandbox: result -> held webhook, {CALLS} streams",
            f"p99 {p99 * 1000:.1f} ms (n={trips})",
            f"p50 {p50 * 1000:.1f} ms; {RATE} cards/s",
            f"{p99 / LIMIT:.2f} of limit",
            f"< {LIMIT * 1000:g} ms",
            p99 < LIMIT,
        ),
        Row(
            f"sandbox: the same, {IN_FLIGHT} cards always in flight",
            f"p99 {worst * 1000:.1f} ms (n={trips})",
            f"saturated: {per_second:.0f} cards/s",
            f"{worst / LIMIT:.2f} of limit",
            "(capacity)",
            None,
        ),
    ]
