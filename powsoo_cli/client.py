"""PowsooClient: one method per endpoint of the API, over httpx.

The client never prints and never exits. It sends ``Origin`` where the API
checks it, an ``x-request-id`` on every request, and the session token only
in the ``x-powsoo-session-token`` header. Every failure leaves it as one of
the exceptions in `powsoo_cli.errors`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from powsoo_cli.errors import ApiError, BadResponse, TransportError, UsageError
from powsoo_cli.models import (
    EmbedConfig,
    ResultRequest,
    ShowCardResponse,
    VoiceToken,
    VoiceTokenRequest,
)
from powsoo_cli.redact import redact, register_secret

TOKEN_HEADER = "x-powsoo-session-token"
REQUEST_ID_HEADER = "x-request-id"
SHOW_CARD_TOOL = "powsoo_show_card"
# Powsoo answers a held webhook within 110 s (§7); Retell itself waits 120 s.
WEBHOOK_WAIT_SECONDS = 120.0
BASE_URL_HINT = "a base URL looks like https://api.powsoo.com"
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


@dataclass(frozen=True)
class ErrorBody:
    code: str | None
    message: str
    request_id: str | None


def parse_error_body(content: bytes, content_type: str = "") -> ErrorBody:
    """Read either documented error shape, or make sense of anything else.

    Shape B is ``{"ok": false, "error": {"code", "message"}, "requestId"}``;
    shape A is ``{"code", "message"}`` (§4.1). Proxies answer with HTML pages
    and some failures come with no body at all.
    """
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return ErrorBody(None, "the answer had an empty body", None)

    try:
        data = json.loads(text)
    except ValueError:
        data = None

    if isinstance(data, dict):
        error = data.get("error")
        request_id = data.get("requestId")
        request_id = request_id if isinstance(request_id, str) else None
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message")
        else:
            code = data.get("code")
            message = data.get("message") or (error if isinstance(error, str) else None)
        return ErrorBody(
            code if isinstance(code, str) and code else None,
            message if isinstance(message, str) and message else "no message given",
            request_id,
        )

    if "html" in content_type.lower() or text.lower().startswith(
        ("<!doctype", "<html")
    ):
        return ErrorBody(None, _describe_html(text), None)
    return ErrorBody(None, "unexpected answer: " + _excerpt(text), None)


def _describe_html(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    what = f" titled {title.group(1).strip()!r}" if title else ""
    return (
        f"the answer was an HTML page{what}, not the API's JSON "
        "(a proxy, gateway or wrong base URL is in the way)"
    )


def _describe_not_json(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip()
    if text.lower().startswith(("<!doctype", "<html")):
        return _describe_html(text)
    return "the body is not JSON: " + _excerpt(text)


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def translate_transport_error(exc: httpx.HTTPError, url: str) -> Exception:
    """Map an httpx failure to our error, naming what failed and where."""
    host = httpx.URL(url).host if url else "the API"
    proxy = environment_proxy(url) if url else None
    if proxy and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        # The connection that failed was the one to the proxy, not the API.
        cause = _root_cause(exc)
        if not isinstance(cause, ssl.SSLError):
            what = "timed out" if isinstance(exc, httpx.ConnectTimeout) else cause
            return TransportError(
                f"could not reach the proxy {proxy} on the way to {host}: "
                f"{what or exc}",
                kind="proxy",
                hint=f"check HTTPS_PROXY / HTTP_PROXY, or list {host} in NO_PROXY",
            )
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return UsageError(
            f"cannot use the base URL {url!r}: {exc}",
            hint=BASE_URL_HINT,
        )
    if isinstance(exc, httpx.TooManyRedirects):
        return BadResponse(f"{host} redirected too many times (a redirect loop)")
    if isinstance(exc, httpx.DecodingError):
        return BadResponse(f"the answer from {host} could not be decoded: {exc}")
    if isinstance(exc, httpx.ProxyError):
        return TransportError(
            f"the proxy refused the connection to {host}: {exc}",
            kind="proxy",
            hint="check HTTPS_PROXY / NO_PROXY",
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportError(f"connecting to {host} timed out", kind="timeout")
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(f"{host} did not answer in time", kind="timeout")
    if isinstance(exc, httpx.ConnectError):
        cause = _root_cause(exc)
        if isinstance(cause, socket.gaierror):
            return TransportError(
                f"the name {host} could not be resolved",
                kind="dns",
                hint="check the host name, your DNS and --env/--base-url",
            )
        if isinstance(cause, ssl.SSLError) or "SSL" in str(exc):
            return TransportError(
                f"TLS with {host} failed: {cause or exc}",
                kind="tls",
                hint="a corporate proxy may need its CA in SSL_CERT_FILE",
            )
        return TransportError(
            f"could not connect to {host}: {cause or exc}", kind="connect"
        )
    return TransportError(
        f"the connection to {host} broke: {exc or type(exc).__name__}",
        kind="protocol",
    )


def verify_context() -> ssl.SSLContext | bool:
    """What to trust: SSL_CERT_FILE / SSL_CERT_DIR if set, else the OS store.

    ``True`` lets httpx load the variables itself (it reads them because
    ``trust_env`` is on). Otherwise the operating system's trust store is
    used, as a browser would, so a CA that IT installed is trusted too;
    certifi's bundle alone would refuse it.
    """
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return True
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def environment_proxy(url: str) -> str | None:
    """The proxy that the environment sets for ``url``, without credentials;
    None when there is none or NO_PROXY exempts the host.

    Follows httpx's reading of NO_PROXY, `loopback_bypass` included, so that
    an error can name the hop that really failed.
    """
    from urllib.request import getproxies

    target = httpx.URL(url)
    proxies = getproxies()
    proxy = proxies.get(target.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = target.host.lower()
    for entry in (item.strip().lower() for item in proxies.get("no", "").split(",")):
        if entry == "*" or entry == host:
            return None
        if entry == "localhost" and host in ("127.0.0.1", "::1"):
            return None
        if entry and "://" not in entry and host.endswith("." + entry.lstrip(".")):
            return None
    try:
        shown = httpx.URL(proxy if "://" in proxy else f"http://{proxy}")
    except httpx.InvalidURL:
        return "(unreadable)"
    port = f":{shown.port}" if shown.port else ""
    return f"{shown.scheme}://{shown.host}{port}"


def loopback_bypass() -> dict[str, httpx.BaseTransport | None]:
    """Mounts that keep 127.0.0.1 and [::1] off the proxy when NO_PROXY
    lists ``localhost``.

    httpx matches NO_PROXY entries by name, so ``localhost`` alone would
    still send a sandbox at http://127.0.0.1:PORT through the proxy, which
    cannot reach this machine's loopback. A ``None`` mount means: no proxy.
    """
    from urllib.request import getproxies

    # The same source httpx reads, so both agree on the variables.
    entries = getproxies().get("no", "").split(",")
    if "localhost" not in {entry.strip().lower() for entry in entries}:
        return {}
    return {"all://127.0.0.1": None, "all://[::1]": None}


def _root_cause(exc: BaseException) -> BaseException | None:
    seen = exc.__cause__ or exc.__context__
    while seen is not None and (seen.__cause__ or seen.__context__) is not None:
        seen = seen.__cause__ or seen.__context__
    return seen


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
                f"HTTP {response.status_code}: " + _describe_not_json(response.content),
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
                "object was expected: " + _excerpt(response.text),
                request_id=request_id,
            )
        try:
            body = model.model_validate(data)
        except ValidationError as exc:
            raise BadResponse(
                f"HTTP {response.status_code} came with a body we cannot use: "
                + _describe_validation(exc),
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
                f"HTTP {response.status_code}: {_describe_not_json(content)}",
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


def _describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
