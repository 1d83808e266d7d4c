"""What came back, or failed to, turned into our errors.

The API documents two error bodies; proxies answer with HTML; transports
fail in a dozen ways. Everything here is pure: it reads a body or an httpx
exception and returns a description or one of `powsoo_cli.errors`.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from powsoo_cli.errors import BadResponse, TransportError, UsageError
from powsoo_cli.network import environment_proxy

BASE_URL_HINT = "a base URL looks like https://api.powsoo.com"


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
    return ErrorBody(None, "unexpected answer: " + excerpt(text), None)


def _describe_html(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    what = f" titled {title.group(1).strip()!r}" if title else ""
    return (
        f"the answer was an HTML page{what}, not the API's JSON "
        "(a proxy, gateway or wrong base URL is in the way)"
    )


def describe_not_json(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip()
    if text.lower().startswith(("<!doctype", "<html")):
        return _describe_html(text)
    return "the body is not JSON: " + excerpt(text)


def excerpt(text: str, limit: int = 120) -> str:
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


def _root_cause(exc: BaseException) -> BaseException | None:
    seen = exc.__cause__ or exc.__context__
    while seen is not None and (seen.__cause__ or seen.__context__) is not None:
        seen = seen.__cause__ or seen.__context__
    return seen


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
