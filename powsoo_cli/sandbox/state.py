"""What the emulator remembers: sessions, open streams and held webhooks.

All of it lives on the server's event loop; nothing here is thread-safe or
needs to be.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SandboxConfig:
    heartbeat_interval: float = 15.0
    hold_timeout: float = 110.0  # §7: Powsoo gives up on a held webhook at 110 s
    token_ttl: float = 600.0  # §13 #21: a session token lives 600 s


@dataclass
class Session:
    call_id: str
    widget_id: str
    session_token: str
    access_token: str
    expires_at: float  # time.time() seconds

    def expired(self) -> bool:
        return time.time() >= self.expires_at


@dataclass
class Subscriber:
    """One open event stream; newer subscribers replace older ones (§13 #6)."""

    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)


class ShuttingDown(Exception):
    """Answers a held webhook when the sandbox stops before the widget does."""


@dataclass
class HeldCall:
    call_id: str
    answer: asyncio.Future[dict[str, Any]]


def new_session_token() -> str:
    raw = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
    return "sst_" + raw


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.sessions: dict[str, Session] = {}  # by call id
        self.by_token: dict[str, Session] = {}
        self.subscribers: dict[str, Subscriber] = {}  # by call id
        self.held: dict[str, HeldCall] = {}  # by tool call id

    def mint(self, widget_id: str) -> Session:
        session = Session(
            call_id="call_" + secrets.token_hex(12),
            widget_id=widget_id,
            session_token=new_session_token(),
            access_token="rtc_sandbox_" + secrets.token_urlsafe(24),
            expires_at=time.time() + self.config.token_ttl,
        )
        self.sessions[session.call_id] = session
        self.by_token[session.session_token] = session
        return session

    def subscribe(self, call_id: str) -> Subscriber:
        previous = self.subscribers.get(call_id)
        if previous is not None:
            previous.queue.put_nowait(None)  # ends the older stream
        subscriber = Subscriber()
        self.subscribers[call_id] = subscriber
        return subscriber

    def unsubscribe(self, call_id: str, subscriber: Subscriber) -> None:
        if self.subscribers.get(call_id) is subscriber:
            del self.subscribers[call_id]

    def close_all(self) -> None:
        """End every open stream and held webhook, so that a stop is prompt."""
        for subscriber in self.subscribers.values():
            subscriber.queue.put_nowait(None)
        for held in self.held.values():
            if not held.answer.done():
                held.answer.set_exception(ShuttingDown())
