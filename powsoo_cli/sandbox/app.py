"""The emulator's routes. It does only what the API documentation says, plus
the working assumptions listed in the README; its own log (logger
``powsoo.sandbox``) carries the hidden reason behind every 404, and never a
token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powsoo_cli.models import Card, ResultRequest, ShowCardRequest, VoiceTokenRequest
from powsoo_cli.origins import match_origin
from powsoo_cli.sandbox.fixtures import DEMO_WIDGETS
from powsoo_cli.sandbox.state import (
    HeldCall,
    SandboxConfig,
    SandboxState,
    Session,
    ShuttingDown,
)

log = logging.getLogger("powsoo.sandbox")

TOKEN_HEADER = "x-powsoo-session-token"
ALLOWED_HEADERS = "content-type, x-powsoo-session-token, x-request-id, last-event-id"


class SandboxError(Exception):
    """An error answer: the visible code, and the reason only the log sees."""

    def __init__(
        self, status: int, code: str, message: str, *, hidden: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.hidden = hidden


def unavailable(hidden: str) -> SandboxError:
    # §4.3: every widget-side failure looks the same from outside.
    return SandboxError(
        404,
        "widget_unavailable",
        "This widget is not available on this site.",
        hidden=hidden,
    )


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


async def read_json(request: Request) -> Any:
    body = await request.body()
    try:
        return json.loads(body)
    except ValueError:
        raise SandboxError(400, "invalid_request", "Body is not valid JSON.") from None


def validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"Invalid request body: {where}: {first['msg']}."


def session_for(request: Request, state: SandboxState) -> Session:
    """The session a token names; the header wins over ``?token=`` (§2.2)."""
    token = request.headers.get(TOKEN_HEADER) or request.query_params.get("token")
    session = state.by_token.get(token or "")
    if session is None or session.expired():
        reason = "missing" if not token else "expired" if session else "unknown"
        raise SandboxError(
            401,
            "invalid_session_token",
            "Session token missing, wrong or expired.",
            hidden=f"token_{reason}",
        )

    call_id = request.path_params["call_id"]
    if call_id not in state.sessions:
        raise SandboxError(404, "session_not_found", "No live session for this call.")
    if session.call_id != call_id:
        raise SandboxError(
            401,
            "invalid_session_token",
            "Session token missing, wrong or expired.",
            hidden="token_for_another_call",
        )
    return session


# Routes


async def embed_config(request: Request) -> Response:
    widget = resolve_widget(request)
    return JSONResponse(widget.public_config())


async def voice_tokens(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        body = VoiceTokenRequest.model_validate(await read_json(request))
    except ValidationError as exc:
        raise SandboxError(400, "invalid_request", validation_message(exc)) from None

    widget = resolve_widget(request, body.widgetId)
    if widget.failure == "plan_limit_exceeded":
        raise SandboxError(
            402,
            "plan_limit_exceeded",
            "The monthly call cap of this plan is reached. Upgrade to continue.",
        )
    if widget.failure == "retell_auth_failed":
        raise SandboxError(
            502, "retell_auth_failed", "Retell rejected the voice platform key."
        )
    if widget.failure is not None:
        raise unavailable(widget.failure)

    session = state.mint(widget.widget_id)
    expires = datetime.fromtimestamp(session.expires_at, timezone.utc)
    return JSONResponse(
        {
            "platform": "retell",
            "accessToken": session.access_token,
            "callId": session.call_id,
            "expiresAt": expires.isoformat(timespec="seconds"),
            "sessionToken": session.session_token,
        }
    )


def resolve_widget(request: Request, widget_id: str | None = None) -> Any:
    widget_id = widget_id or request.path_params["widget_id"]
    origin = request.headers.get("origin")
    widget = DEMO_WIDGETS.get(widget_id)
    if widget is None:
        raise unavailable("widget_not_found")
    if not match_origin(origin, widget.allowed_origins).allowed:
        raise unavailable("origin_not_allowed")
    return widget


async def event_stream(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    session = session_for(request, state)
    subscriber = state.subscribe(session.call_id)
    interval = state.config.heartbeat_interval

    async def frames() -> AsyncIterator[str]:
        try:
            yield frame({"type": "ready", "callId": session.call_id})
            while True:
                try:
                    event = await asyncio.wait_for(subscriber.queue.get(), interval)
                except asyncio.TimeoutError:
                    event = {"type": "heartbeat", "at": now_iso()}
                if event is None:
                    return
                yield frame(event)
        finally:
            state.unsubscribe(session.call_id, subscriber)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


def frame(event: dict[str, Any]) -> str:
    # §6.2: one data line of JSON, then a blank line; no event name, no id.
    return "data: " + json.dumps(event, separators=(",", ":")) + "\n\n"


async def post_result(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    session = session_for(request, state)
    try:
        body = ResultRequest.model_validate(await read_json(request))
    except ValidationError as exc:
        raise SandboxError(400, "invalid_request", validation_message(exc)) from None

    held = state.held.get(body.toolCallId)
    if held is None or held.call_id != session.call_id or held.answer.done():
        raise SandboxError(
            404, "tool_call_not_found", "No pending tool call with that toolCallId."
        )
    held.answer.set_result(body.result.model_dump(exclude_none=True))
    return Response(status_code=204)


async def show_card(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        body = ShowCardRequest.model_validate(await read_json(request))
        if body.args is None:
            raise SandboxError(400, "invalid_request", "args is missing or null.")
        card = Card.model_validate(body.args)
    except ValidationError as exc:
        raise SandboxError(400, "invalid_request", validation_message(exc)) from None

    call_id = body.call.call_id
    subscriber = state.subscribers.get(call_id)
    if subscriber is None:
        raise SandboxError(
            404, "session_not_found", "No widget is listening for this call."
        )

    tool_call_id = "tc_" + secrets.token_hex(8)
    answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    state.held[tool_call_id] = HeldCall(call_id, answer)
    subscriber.queue.put_nowait(
        {
            "type": "tool_call",
            "toolCallId": tool_call_id,
            "card": card.model_dump(exclude_none=True),
        }
    )
    log.info(
        "show-card webhook dispatched call=%s toolCallId=%s", call_id, tool_call_id
    )

    try:
        result = await asyncio.wait_for(answer, state.config.hold_timeout)
    except asyncio.TimeoutError:
        withdraw(state, call_id, tool_call_id)
        raise SandboxError(
            504, "widget_timeout", "The widget did not answer in time."
        ) from None
    except ShuttingDown:
        raise SandboxError(
            503, "server_error", "The sandbox is shutting down."
        ) from None
    finally:
        state.held.pop(tool_call_id, None)
    return JSONResponse({"result": json.dumps(result, separators=(",", ":"))})


def withdraw(state: SandboxState, call_id: str, tool_call_id: str) -> None:
    subscriber = state.subscribers.get(call_id)
    if subscriber is not None:
        subscriber.queue.put_nowait(
            {
                "type": "tool_call_cancelled",
                "toolCallId": tool_call_id,
                "reason": "timeout",
            }
        )


async def preflight(request: Request) -> Response:
    # CORS headers themselves are added by `RequestContext` for every answer.
    return Response(status_code=204)


async def not_found(request: Request) -> Response:
    raise SandboxError(404, "not_found", "No such endpoint.")


# Error bodies, request ids and CORS headers for every answer


def error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    request_id = request_id_of(request)
    if exc.hidden:
        request.scope.setdefault("state", {})["hidden_reason"] = exc.hidden
    # §4.1 shape B, which is what the operation pages document.
    return JSONResponse(
        {
            "ok": False,
            "error": {"code": exc.code, "message": exc.message},
            "requestId": request_id,
        },
        status_code=exc.status,
    )


class RequestContext:
    """Echo or create ``x-request-id``, add CORS headers, log one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
        }
        request_id = headers.get("x-request-id") or "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        origin = headers.get("origin")
        started = time.perf_counter()
        status_seen = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]
                extra = [(b"x-request-id", request_id.encode("latin-1"))]
                if origin:
                    extra += cors_headers(origin, scope["method"] == "OPTIONS")
                message["headers"] = list(message.get("headers", [])) + extra
                log_line(scope, status_seen, request_id, origin, started)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def cors_headers(origin: str, preflight: bool) -> list[tuple[bytes, bytes]]:
    # §13 #35: echo the Origin on every answer, errors included.
    headers = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", b"x-request-id"),
        (b"vary", b"Origin"),
    ]
    if preflight:
        headers += [
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
        ]
    return headers


def log_line(
    scope: Scope, status: int, request_id: str, origin: str | None, started: float
) -> None:
    # The path only: a query string may carry ?token=sst_… and must not be logged.
    hidden = scope.get("state", {}).get("hidden_reason")
    log.info(
        "%s %s %d%s origin=%s request=%s %.1fms",
        scope["method"],
        scope["path"],
        status,
        f" reason={hidden}" if hidden else "",
        origin or "-",
        request_id,
        (time.perf_counter() - started) * 1000,
    )


def create_app(
    config: SandboxConfig | None = None, *, state: SandboxState | None = None
) -> ASGIApp:
    routes = [
        Route("/v1/embed/{widget_id}/config", embed_config, methods=["GET"]),
        Route("/v1/voice-tokens", voice_tokens, methods=["POST"]),
        Route("/v1/sessions/{call_id}/stream", event_stream, methods=["GET"]),
        Route("/v1/sessions/{call_id}/results", post_result, methods=["POST"]),
        Route("/v1/retell/tools/show-card", show_card, methods=["POST"]),
        Route("/{path:path}", preflight, methods=["OPTIONS"]),
        Route("/{path:path}", not_found),
    ]
    app = Starlette(routes=routes, exception_handlers={SandboxError: error_response})
    app.state.sandbox = state or SandboxState(config or SandboxConfig())
    return RequestContext(app)
