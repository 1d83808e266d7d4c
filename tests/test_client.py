"""The HTTP layer: error bodies of every shape, transport failures, headers."""

from __future__ import annotations

import json
import socket
import ssl

import httpx
import pytest

from powsoo_cli.client import PowsooClient
from powsoo_cli.errors import ApiError, BadResponse, TransportError, UsageError
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.failures import parse_error_body


def test_shape_b_error_body_gives_code_message_and_request_id():
    body = (
        b'{"ok":false,"error":{"code":"widget_unavailable","message":"nope"},'
        b'"requestId":"req_1"}'
    )

    error = parse_error_body(body, "application/json")

    assert (error.code, error.message, error.request_id) == (
        "widget_unavailable",
        "nope",
        "req_1",
    )


def test_shape_a_error_body_gives_code_and_message():
    error = parse_error_body(b'{"code":"plan_limit_exceeded","message":"cap"}')

    assert (error.code, error.message, error.request_id) == (
        "plan_limit_exceeded",
        "cap",
        None,
    )


def test_an_html_error_page_is_described_with_its_title():
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>"

    error = parse_error_body(page, "text/html")

    assert error.code is None
    assert "HTML page titled '502 Bad Gateway'" in error.message


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_an_empty_error_body_says_so(body):
    assert parse_error_body(body).message == "the answer had an empty body"


@pytest.mark.parametrize(
    "body",
    [b"[1,2]", b'"text"', b'{"error": 5}', b'{"code": 7, "message": null}', b"\xff"],
)
def test_odd_error_bodies_never_raise(body):
    error = parse_error_body(body)

    assert isinstance(error.message, str) and error.message


def client_answering(handler) -> PowsooClient:
    return PowsooClient("http://api.test", transport=httpx.MockTransport(handler))


def test_every_request_carries_a_request_id_and_the_origin_where_checked():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"widgetId": "wid_a", "extra": 1})

    reply = client_answering(handler).get_embed_config("wid_a", "https://a.example")

    assert seen[0].headers["origin"] == "https://a.example"
    assert seen[0].headers["x-request-id"].startswith("req_")
    assert reply.request_id == seen[0].headers["x-request-id"]
    assert reply.body.model_extra == {"extra": 1}


def test_the_session_token_travels_in_the_header_never_in_the_url():
    from powsoo_cli.models import CardResult, ResultRequest

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    token = "sst_" + "b" * 32
    request = ResultRequest(
        toolCallId="tc_1", result=CardResult(status="confirmed", action="ok")
    )
    client_answering(handler).post_result("call_1", token, request)

    assert seen[0].headers["x-powsoo-session-token"] == token
    assert token not in str(seen[0].url)


def test_an_error_status_becomes_an_api_error_with_the_server_request_id():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            402,
            json={
                "ok": False,
                "error": {"code": "plan_limit_exceeded", "message": "cap"},
                "requestId": "req_s",
            },
        )

    with pytest.raises(ApiError) as caught:
        client_answering(handler).mint_voice_token("wid_a", "https://a.example")

    assert caught.value.status == 402
    assert caught.value.code == "plan_limit_exceeded"
    assert caught.value.request_id == "req_s"
    assert caught.value.exit_code == ExitCode.PROBLEM


def test_a_401_exits_with_the_token_rejected_code():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"code": "invalid_session_token", "message": "no"}
        )

    from powsoo_cli.models import CardResult, ResultRequest

    with pytest.raises(ApiError) as caught:
        client_answering(handler).post_result(
            "c",
            "sst_" + "x" * 30,
            ResultRequest(
                toolCallId="t", result=CardResult(status="skipped", action="skip")
            ),
        )

    assert caught.value.exit_code == ExitCode.TOKEN_REJECTED


def test_an_error_envelope_on_a_200_is_an_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"ok": False, "error": {"code": "x_failed", "message": "m"}}
        )

    with pytest.raises(ApiError, match="x_failed"):
        client_answering(handler).get_embed_config("wid_a", "https://a.example")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not json", "not JSON"),
        (b"", "not JSON"),
        (b'{"platform": "retell"}', "accessToken"),
        (
            b'{"platform": 1, "accessToken": "a", "callId": "c", "expiresAt": "x",'
            b' "sessionToken": "s"}',
            "platform",
        ),
    ],
)
def test_an_unusable_success_body_is_a_bad_response(content, expected):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content)

    with pytest.raises(BadResponse, match=expected):
        client_answering(handler).mint_voice_token("wid_a", "https://a.example")


def raising(exc: Exception):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.ConnectError("refused"), "connect"),
        (httpx.ConnectTimeout("slow"), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.RemoteProtocolError("peer closed"), "protocol"),
        (httpx.ReadError("reset"), "protocol"),
        (httpx.ProxyError("407"), "proxy"),
    ],
)
def test_transport_failures_become_our_errors(failure, kind):
    with pytest.raises(TransportError) as caught:
        client_answering(raising(failure)).get_embed_config("wid_a", "https://a.b")

    assert caught.value.kind == kind
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


def test_a_name_lookup_failure_is_told_apart_from_a_refused_connection():
    error = httpx.ConnectError("lookup")
    error.__cause__ = socket.gaierror(-2, "Name or service not known")

    with pytest.raises(TransportError) as caught:
        client_answering(raising(error)).get_embed_config("wid_a", "https://a.b")

    assert caught.value.kind == "dns"


def test_a_tls_failure_is_told_apart_from_a_refused_connection():
    error = httpx.ConnectError("handshake")
    error.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")

    with pytest.raises(TransportError) as caught:
        client_answering(raising(error)).get_embed_config("wid_a", "https://a.b")

    assert caught.value.kind == "tls"
    assert "SSL_CERT_FILE" in (caught.value.hint or "")


def test_a_redirect_loop_is_a_bad_response():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": str(request.url)})

    with pytest.raises(BadResponse, match="redirect"):
        client_answering(handler).get_embed_config("wid_a", "https://a.b")


def test_a_base_url_without_a_scheme_is_a_usage_error():
    client = PowsooClient("api.powsoo.com")

    with pytest.raises(UsageError):
        client.get_embed_config("wid_a", "https://a.b")


def test_the_stream_refuses_a_success_that_is_not_an_event_stream():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, text="<html></html>", headers={"content-type": "text/html"}
        )

    with (
        pytest.raises(BadResponse, match="not text/event-stream"),
        client_answering(handler).open_stream("call_1", "sst_" + "c" * 30),
    ):
        pass


def test_trace_lines_never_hold_the_session_token():
    lines: list[str] = []
    token = "sst_" + "d" * 32

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "platform": "retell",
                "accessToken": "at_" + "e" * 30,
                "callId": "c1",
                "expiresAt": "2030-01-01T00:00:00Z",
                "sessionToken": token,
            },
        )

    client = PowsooClient(
        "http://api.test", transport=httpx.MockTransport(handler), trace=lines.append
    )
    client.mint_voice_token("wid_a", "https://a.b")

    assert lines and all(token not in line for line in lines)
    assert json.dumps(lines).count("sst_") == 0
