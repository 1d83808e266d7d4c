"""PowsooClient: one method per endpoint of the API, over httpx.

The client never prints and never exits. It sends ``Origin`` where the API
checks it, an ``x-request-id`` on every request, and the session token only
in the ``x-powsoo-session-token`` header. Every failure leaves it as one of
the exceptions in `powsoo_cli.errors`.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from powsoo_cli.errors import ApiError, BadResponse, TransportError, UsageError
from powsoo_cli.failures import (
    BASE_URL_HINT,
    describe_not_json,
    describe_validation,
    excerpt,
    parse_error_body,
    translate_transport_error,
)
from powsoo_cli.models import (
    EmbedConfig,
    ResultRequest,
    ShowCardResponse,
    VoiceToken,
    VoiceTokenRequest,
)
from powsoo_cli.network import loopback_bypass, verify_context
from powsoo_cli.redact import redact, register_secret

TOKEN_HEADER = "x-powsoo-session-token"
REQUEST_ID_HEADER = "x-request-id"
SHOW_CARD_TOOL = "powsoo_show_card"
# Powsoo answers a held webhook within 110 s (§7); Retell itself waits 120 s.
WEBHOOK_WAIT_SECONDS = 120.0
# The longest wait a request may be given. A socket timeout overflows not far
# beyond, and no answer is worth waiting a day for.
MAX_TIMEOUT_SECONDS = 86400.0
# A header value we send: printable ASCII only, else h11 or httpx refuse it.
HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
HEADER_WHAT = {
    "origin": "the origin",
    TOKEN_HEADER: "the session token",
    REQUEST_ID_HEADER: "the request id",
}

ModelT = TypeVar("ModelT", bound=BaseModel)
BodyT = TypeVar("BodyT")


@dataclass(frozen=True)
class Reply(Generic[BodyT]):
    """A successful answer and the facts about it that a person may need."""

    body: BodyT
    status: int
    request_id: str | None
    elapsed: float
    headers: httpx.Headers


def new_request_id() -> str:
    return "req_" + secrets.token_hex(8)


def user_agent() -> str:
    from powsoo_cli.version import version

    return f"powsoo-cli/{version()} httpx/{httpx.__version__}"


class PowsooClient:
    """A thin, typed client for the Powsoo API."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        request_id: str | None = None,
        trace: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._fixed_request_id = request_id
        self._trace = trace
        hooks: dict[str, list[Callable[..., Any]]] = {"request": [], "response": []}
        if trace is not None:
            hooks["request"].append(self._trace_request)
            hooks["response"].append(self._trace_response)
        # A given transport (tests) replaces the network: no proxy, no TLS.
        network = transport is None
        try:
            httpx.URL(self.base_url)
        except httpx.InvalidURL as exc:
            raise UsageError(
                f"cannot use the base URL {base_url!r}: {exc}", hint=BASE_URL_HINT
            ) from None
        try:
            self._http = httpx.Client(
                base_url=self.base_url,
                timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
                headers={"user-agent": user_agent()},
                event_hooks=hooks,
                transport=transport,
                verify=verify_context() if network else True,
                mounts=loopback_bypass() if network else None,
            )
        except (httpx.InvalidURL, ValueError, ImportError) as exc:
            # The base URL is sound, so a proxy variable is at fault.
            raise UsageError(
                f"cannot use the proxy set in the environment: {exc}",
                hint="check HTTPS_PROXY, HTTP_PROXY and ALL_PROXY; a socks:// "
                "proxy needs the httpx[socks] extra",
            ) from None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PowsooClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The endpoints (spec §5)

    def get_embed_config(
        self, widget_id: str, origin: str | None
    ) -> Reply[EmbedConfig]:
        """GET /v1/embed/{widgetId}/config, gated by ``Origin``."""
        response, elapsed = self._send(
            "GET",
            f"/v1/embed/{_segment(widget_id, 'the widget id')}/config",
            origin=origin,
        )
        return self._reply(response, elapsed, EmbedConfig)

    def mint_voice_token(self, widget_id: str, origin: str | None) -> Reply[VoiceToken]:
        """POST /v1/voice-tokens: starts a real web call upstream."""
        body = VoiceTokenRequest(widgetId=widget_id).model_dump()
        response, elapsed = self._send(
            "POST", "/v1/voice-tokens", origin=origin, json_body=body
        )
        reply = self._reply(response, elapsed, VoiceToken)
        register_secret(reply.body.sessionToken)
        register_secret(reply.body.accessToken)
        return reply

    def post_result(
        self,
        call_id: str,
        session_token: str,
        request: ResultRequest,
        *,
        origin: str | None = None,
    ) -> Reply[None]:
        """POST /v1/sessions/{callId}/results; 204 means accepted.

        ``origin`` is not checked by the API here (§13 #16); diagnose sends
        it, as a browser would, to see the CORS headers of the answer.
        """
        register_secret(session_token)
        response, elapsed = self._send(
            "POST",
            f"/v1/sessions/{_segment(call_id, 'the call id')}/results",
            origin=origin,
            session_token=session_token,
            json_body=request.model_dump(exclude_none=True),
        )
        self._raise_for_status(response)
        self._check_empty_success(response)
        return Reply(
            None, response.status_code, _request_id(response), elapsed, response.headers
        )

    def show_card(
        self,
        call_id: str,
        card: Any,
        *,
        name: str = SHOW_CARD_TOOL,
        wait: float = WEBHOOK_WAIT_SECONDS,
    ) -> Reply[ShowCardResponse]:
        """POST /v1/retell/tools/show-card as Retell does; waits for the answer."""
        body = {"name": name, "args": card, "call": {"call_id": call_id}}
        response, elapsed = self._send(
            "POST", "/v1/retell/tools/show-card", json_body=body, read_timeout=wait
        )
        return self._reply(response, elapsed, ShowCardResponse)

    @contextmanager
    def open_stream(
        self,
        call_id: str,
        session_token: str,
        *,
        last_event_id: str | None = None,
        read_timeout: float | None = None,
        origin: str | None = None,
    ) -> Iterator[httpx.Response]:
        """GET /v1/sessions/{callId}/stream; yields the open response.

        The caller reads ``iter_bytes()`` and decodes the events itself. A
        non-2xx status raises `ApiError`; a 2xx that is not an event stream
        raises `BadResponse` before any byte is handed over. ``origin`` is
        sent only to see the answer's CORS headers, as for `post_result`.
        """
        register_secret(session_token)
        headers = {"accept": "text/event-stream", "cache-control": "no-cache"}
        # The id comes from the server; one no header can carry is not sent,
        # which only costs the resume (§13 #4: there is no replay anyway).
        if last_event_id and HEADER_VALUE.fullmatch(last_event_id):
            headers["last-event-id"] = last_event_id
        url = f"/v1/sessions/{_segment(call_id, 'the call id')}/stream"
        request = self._build(
            "GET",
            url,
            origin=origin,
            session_token=session_token,
            headers=headers,
            read_timeout=read_timeout,
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, str(request.url)) from exc

        try:
            if response.status_code >= 300:
                self._read_quietly(response)
                self._raise_for_status(response)
            content_type = response.headers.get("content-type", "")
            if content_type.split(";")[0].strip().lower() != "text/event-stream":
                raise BadResponse(
                    "the stream answered with content type "
                    f"{content_type or '(none)'!r}, not text/event-stream",
                    request_id=_request_id(response),
                    hint="a proxy or a wrong base URL may be answering instead",
                )
            yield response
        finally:
            response.close()

    def preflight(
        self, path: str, origin: str, method: str, request_headers: list[str]
    ) -> httpx.Response:
        """Send the CORS preflight a browser would send; never raises on status."""
        headers = {
            "origin": origin,
            "access-control-request-method": method,
        }
        if request_headers:
            headers["access-control-request-headers"] = ",".join(request_headers)
        response, _ = self._send("OPTIONS", path, headers=headers)
        return response

    # Plumbing

    def _build(
        self,
        method: str,
        url: str,
        *,
        origin: str | None = None,
        session_token: str | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Request:
        all_headers = {REQUEST_ID_HEADER: self._fixed_request_id or new_request_id()}
        if origin:
            all_headers["origin"] = origin
        if session_token:
            all_headers[TOKEN_HEADER] = session_token
        all_headers.update(headers or {})
        for name, value in all_headers.items():
            if not HEADER_VALUE.fullmatch(value):
                # The value itself is not shown: it may be the token.
                raise UsageError(
                    f"{HEADER_WHAT.get(name, name)} holds characters that an "
                    "HTTP header cannot carry",
                    hint="only printable ASCII fits; look for a pasted line "
                    "break, a typographic quote or a non-ASCII letter",
                )
        extensions = {}
        if read_timeout is not None:
            if not 0 < read_timeout <= MAX_TIMEOUT_SECONDS:
                raise UsageError(
                    f"a wait of {read_timeout:g} s is out of range; give more "
                    f"than 0 and at most {MAX_TIMEOUT_SECONDS:g} s"
                )
            extensions["timeout"] = httpx.Timeout(
                read_timeout, connect=self.connect_timeout
            ).as_dict()
        try:
            request = self._http.build_request(
                method,
                url,
                headers=all_headers,
                json=json_body,
                extensions=extensions,
            )
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, self.base_url) from exc
        except UnicodeEncodeError as exc:
            raise UsageError(
                "the request cannot be sent: it holds "
                f"{exc.object[exc.start : exc.end]!r}, which is not text",
                hint="such a lone surrogate comes from a \\u escape in a file, "
                "or from bytes that are not UTF-8 on the command line",
            ) from None
        except ValueError as exc:
            # json.dumps(allow_nan=False): 1e400 in a file reads as infinity.
            raise UsageError(f"the request body is not valid JSON: {exc}") from None

        # httpx accepts both, then fails as if the network were at fault.
        port = request.url.port
        if request.url.scheme in ("http", "https") and (
            not request.url.host or (port is not None and not 0 < port < 65536)
        ):
            raise UsageError(
                f"cannot use the base URL {self.base_url!r}: it needs a host name"
                " and a port from 1 to 65535, if any",
                hint=BASE_URL_HINT,
            )
        return request

    def _send(
        self, method: str, url: str, **options: Any
    ) -> tuple[httpx.Response, float]:
        request = self._build(method, url, **options)
        started = time.perf_counter()
        try:
            response = self._http.send(request, follow_redirects=method == "GET")
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, str(request.url)) from exc
        return response, time.perf_counter() - started

    def _reply(
        self, response: httpx.Response, elapsed: float, model: type[ModelT]
    ) -> Reply[ModelT]:
        self._raise_for_status(response)
        request_id = _request_id(response)
        if not response.content.strip():
            raise BadResponse(
                f"HTTP {response.status_code} came with an empty body, not JSON",
                request_id=request_id,
            )
        try:
            data = json.loads(response.content)
        except ValueError:
            raise BadResponse(
                f"HTTP {response.status_code}: " + describe_not_json(response.content),
                request_id=request_id,
            ) from None

        if isinstance(data, dict) and data.get("ok") is False:
            # An error envelope on a success status: believe the envelope.
            error = parse_error_body(response.content)
            raise ApiError(
                status=response.status_code,
                code=error.code,
                message=error.message,
                request_id=error.request_id or request_id,
            )

        if not isinstance(data, dict):
            kind = "an array" if isinstance(data, list) else "a single value"
            raise BadResponse(
                f"HTTP {response.status_code} came with {kind} where a JSON "
                "object was expected: " + excerpt(response.text),
                request_id=request_id,
            )
        try:
            body = model.model_validate(data)
        except ValidationError as exc:
            raise BadResponse(
                f"HTTP {response.status_code} came with a body we cannot use: "
                + describe_validation(exc),
                request_id=request_id,
            ) from None
        return Reply(body, response.status_code, request_id, elapsed, response.headers)

    def _check_empty_success(self, response: httpx.Response) -> None:
        """For a success that should carry no body (204, §5.4): a body that is
        an error envelope or not JSON at all means someone else answered."""
        content = response.content.strip()
        if not content:
            return
        try:
            data = json.loads(content)
        except ValueError:
            raise BadResponse(
                f"HTTP {response.status_code}: {describe_not_json(content)}",
                request_id=_request_id(response),
                hint="something other than the Powsoo API may have answered, so "
                "the result may not have arrived; check --base-url and any proxy",
            ) from None
        if isinstance(data, dict) and data.get("ok") is False:
            error = parse_error_body(content)
            raise ApiError(
                status=response.status_code,
                code=error.code,
                message=error.message,
                request_id=error.request_id or _request_id(response),
            )

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        if response.status_code == 407:
            # Only a proxy answers 407, never the API.
            raise TransportError(
                "the proxy asks for credentials (HTTP 407 Proxy Authentication "
                "Required)",
                kind="proxy",
                hint="put them in the proxy URL, e.g. "
                "HTTP_PROXY=http://user:password@proxy:3128, or list the API "
                "host in NO_PROXY",
            )
        if response.is_redirect:
            # Only GETs follow redirects: a POST that moved is not resent.
            raise ApiError(
                status=response.status_code,
                code=None,
                message=f"the API redirected to {response.headers['location']} "
                "instead of answering",
                request_id=_request_id(response),
                hint="use the address it redirects to as --base-url (http:// "
                "versus https://, or a path in the base URL, often causes this)",
                headers=response.headers,
            )
        error = parse_error_body(
            response.content, response.headers.get("content-type", "")
        )
        raise ApiError(
            status=response.status_code,
            code=error.code,
            message=error.message,
            request_id=error.request_id or _request_id(response),
            headers=response.headers,
        )

    @staticmethod
    def _read_quietly(response: httpx.Response) -> None:
        with contextlib.suppress(httpx.HTTPError):
            response.read()

    def _trace_request(self, request: httpx.Request) -> None:
        assert self._trace is not None
        self._trace(f"> {request.method} {redact(str(request.url))}")
        for name, value in request.headers.items():
            self._trace(f">   {name}: {redact(value)}")

    def _trace_response(self, response: httpx.Response) -> None:
        assert self._trace is not None
        self._trace(f"< {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.items():
            self._trace(f"<   {name}: {redact(value)}")


def _segment(value: str, what: str) -> str:
    """``value`` as one path segment: ``/``, ``?`` and ``#`` are escaped."""
    if value in ("", ".", ".."):
        # URL normalisation would drop the segment and aim at another path.
        raise UsageError(f"{what} {value!r} cannot be part of a URL path")
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:
        raise UsageError(
            f"{what} {value!r} holds bytes that are not UTF-8 text"
        ) from None


def _request_id(response: httpx.Response) -> str | None:
    echoed: str | None = response.headers.get(REQUEST_ID_HEADER)
    sent: str | None = response.request.headers.get(REQUEST_ID_HEADER)
    return echoed or sent
