"""Pydantic models of every documented request body, response and stream event.

Response and event models keep unknown keys (``extra="allow"``) because the
public documentation leaves much of the wire format open; request models that
we send are strict so that nothing malformed leaves the machine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

WIDGET_ID_PATTERN = r"^wid_[A-Za-z0-9]+$"
FIELD_TYPES = (
    "text",
    "email",
    "phone",
    "address",
    "date",
    "select",
    "multiselect",
    "consent",
)
ACTION_STYLES = ("primary", "secondary", "danger")
RESULT_STATUSES = ("confirmed", "edited", "skipped")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# Embed config and voice tokens (spec §5.1, §5.2)


class EmbedConfig(_Lenient):
    """The public widget configuration; every member is optional (§13 #7)."""

    widgetId: str | None = None
    platform: str | None = None
    mode: str | None = None
    theme: dict[str, Any] | None = None
    agent: dict[str, Any] | None = None


class VoiceTokenRequest(_Strict):
    widgetId: str = Field(pattern=WIDGET_ID_PATTERN)


class VoiceToken(_Lenient):
    """A minted call. Both tokens are secrets: kept out of ``repr``."""

    platform: str
    accessToken: str = Field(min_length=1, repr=False)
    callId: str = Field(min_length=1)
    expiresAt: datetime
    sessionToken: str = Field(min_length=1, repr=False)


# Cards (spec §8)


class CardOption(_Lenient):
    id: str
    label: str


class CardField(_Lenient):
    label: str
    value: str | None = None
    type: str = "text"
    editable: bool = True
    options: list[CardOption] | None = None

    @property
    def known_type(self) -> str:
        """The type to render; unknown types are shown as text (§13 #28)."""
        return self.type if self.type in FIELD_TYPES else "text"


class CardAction(_Lenient):
    label: str
    value: str
    style: str | None = None


class Card(_Lenient):
    title: str
    description: str | None = None
    fields: list[CardField] = Field(default_factory=list)
    actions: list[CardAction]


class CardResult(_Strict):
    """What the widget reports back for a card (§5.4, §8.5)."""

    status: Literal["confirmed", "edited", "skipped"]
    action: str = Field(min_length=1)
    fields: dict[str, str] | None = None
    edited: list[str] = Field(default_factory=list)


class ResultRequest(_Strict):
    toolCallId: str = Field(min_length=1)
    result: CardResult


# The Retell show-card webhook (spec §5.5, §7)


class RetellCall(_Lenient):
    call_id: str = Field(min_length=1)


class ShowCardRequest(_Lenient):
    name: str | None = None
    args: Any = None
    call: RetellCall


class ShowCardResponse(_Lenient):
    result: str


# Stream events (spec §6)


class ReadyEvent(_Lenient):
    type: str = "ready"
    callId: str


class ToolCallEvent(_Lenient):
    type: str = "tool_call"
    toolCallId: str
    card: Card


class ToolCallCancelledEvent(_Lenient):
    type: str = "tool_call_cancelled"
    toolCallId: str
    reason: str | None = None


class HeartbeatEvent(_Lenient):
    type: str = "heartbeat"
    at: datetime


class UnknownEvent(_Lenient):
    """Anything we cannot classify; kept whole so that nothing is dropped."""

    type: str | None = None


StreamEvent = (
    ReadyEvent | ToolCallEvent | ToolCallCancelledEvent | HeartbeatEvent | UnknownEvent
)


def classify_event(data: Any) -> StreamEvent:
    """Turn decoded event JSON into a model by its shape, not its type (§6.3).

    Only ``ready`` is a documented type name, so a card is anything with a
    ``card``, a cancellation has a ``toolCallId`` and no card, and a heartbeat
    has ``at``. Whatever does not validate becomes an `UnknownEvent`.
    """
    from pydantic import ValidationError

    if not isinstance(data, dict):
        return UnknownEvent.model_validate({"type": None, "value": data})

    candidates: list[type[BaseModel]] = []
    if "card" in data:
        candidates.append(ToolCallEvent)
    elif "toolCallId" in data:
        candidates.append(ToolCallCancelledEvent)
    elif "at" in data:
        candidates.append(HeartbeatEvent)
    elif data.get("type") == "ready" and "callId" in data:
        candidates.append(ReadyEvent)

    for model in candidates:
        try:
            return model.model_validate(data)  # type: ignore[return-value]
        except ValidationError:
            pass
    kind = data.get("type")
    extra = {k: v for k, v in data.items() if k != "type"}
    return UnknownEvent(type=kind if isinstance(kind, str) else None, **extra)


def event_kind(event: StreamEvent) -> str:
    """A stable name for the event's class, whatever its ``type`` string says."""
    names: dict[type[BaseModel], str] = {
        ReadyEvent: "ready",
        ToolCallEvent: "tool_call",
        ToolCallCancelledEvent: "tool_call_cancelled",
        HeartbeatEvent: "heartbeat",
    }
    return names.get(type(event), "unknown")
