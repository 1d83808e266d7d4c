"""The network a corporate laptop has: proxies, NO_PROXY, private CAs, limits.

A `ForwardProxy` from `tests.badserver` stands in for the office proxy and
counts what passes through it; HTTPS targets are `BadServer`s speaking TLS
with a certificate from a throwaway CA made here with the openssl command.
Everything stays on loopback.
"""

from __future__ import annotations

import math
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from powsoo_cli.client import PowsooClient
from powsoo_cli.errors import UsageError
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.models import CardResult, ResultRequest
from powsoo_cli.network import verify_context
from powsoo_cli.stream import STALL_FACTOR, EventReader
from tests.badserver import (
    HOLD,
    BadServer,
    ForwardProxy,
    json_response,
    response,
    sse_event,
    stream_head,
)

ORIGIN = "https://shop.example"
CONFIG = json_response(200, {"widgetId": "wid_demo", "platform": "retell"})
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets exactly the proxy variables it is about."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)


def get_config(run_cli: Any, url: str) -> Any:
    return run_cli("--base-url", url, "get-config", "wid_demo", "--origin", ORIGIN)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def serve_on(host: str, *answers: Any) -> BadServer:
    try:
        return BadServer(*answers, host=host)
    except OSError as exc:
        pytest.skip(f"cannot listen on {host}: {exc}")


# HTTP_PROXY, HTTPS_PROXY, ALL_PROXY


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_variable_sends_plain_http_through_the_proxy(
    run_cli, monkeypatch, variable
):
    with ForwardProxy() as proxy, BadServer(CONFIG) as api:
        monkeypatch.setenv(variable, proxy.url)
        result = get_config(run_cli, api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [request.target for request in proxy.requests] == [
        f"{api.url}/v1/embed/wid_demo/config"
    ]
    assert len(api.requests) == 1


def test_https_goes_through_a_connect_tunnel_of_https_proxy(
    run_cli, monkeypatch, pki, tls_api
):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = get_config(run_cli, tls_api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert proxy.tunnels == [f"127.0.0.1:{tls_api.port}"]
    assert tls_api.requests[-1].path == "/v1/embed/wid_demo/config"


def test_http_proxy_alone_leaves_https_direct(run_cli, monkeypatch, pki, tls_api):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = get_config(run_cli, tls_api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert proxy.connections == 0


# NO_PROXY


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.1", "localhost", "example.org, localhost", "LOCALHOST", "*"]
)
def test_no_proxy_sends_the_loopback_api_direct(run_cli, monkeypatch, no_proxy):
    with ForwardProxy() as proxy, BadServer(CONFIG) as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        result = get_config(run_cli, api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert proxy.connections == 0
    assert len(api.requests) == 1


def test_no_proxy_localhost_also_covers_the_ipv6_loopback(run_cli, monkeypatch):
    with ForwardProxy() as proxy, serve_on("::1", CONFIG) as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("no_proxy", "localhost")
        result = get_config(run_cli, api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert proxy.connections == 0
    assert len(api.requests) == 1


def test_no_proxy_localhost_keeps_other_addresses_on_the_proxy(run_cli, monkeypatch):
    # 127.0.0.2 is loopback too, but not what "localhost" resolves to.
    with ForwardProxy() as proxy, serve_on("127.0.0.2", CONFIG) as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost")
        result = get_config(run_cli, api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [request.target for request in proxy.requests] == [
        f"{api.url}/v1/embed/wid_demo/config"
    ]


def test_a_no_proxy_domain_does_not_cover_an_address(run_cli, monkeypatch):
    with ForwardProxy() as proxy, BadServer(CONFIG) as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.org,.corp.example")
        result = get_config(run_cli, api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert len(proxy.requests) == 1


# A proxy that fails


def test_a_proxy_that_is_down_is_named_as_the_hop_that_failed(run_cli, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://user:s3cret@127.0.0.1:{free_port()}")

    with BadServer(CONFIG) as api:
        result = get_config(run_cli, api.url)

    assert result.exit_code == ExitCode.UNREACHABLE
    first, hint = result.stderr.splitlines()
    assert first.startswith("powsoo: error: could not reach the proxy http://127.0")
    assert "NO_PROXY" in hint
    assert "s3cret" not in result.stderr
    assert api.connections == 0


def test_a_forward_proxy_asking_for_credentials_says_so(run_cli, monkeypatch):
    with BadServer(response(407, "", content_type=None)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = get_config(run_cli, "http://127.0.0.1:9")

    assert result.exit_code == ExitCode.UNREACHABLE
    assert "the proxy asks for credentials" in result.stderr
    assert "HTTP_PROXY=http://user:password@" in result.stderr


def test_a_refused_connect_tunnel_is_a_proxy_error(run_cli, monkeypatch):
    with BadServer(response(407, "", content_type=None)) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = get_config(run_cli, "https://127.0.0.1:9")

    assert result.exit_code == ExitCode.UNREACHABLE
    assert result.stderr.startswith("powsoo: error: the proxy refused the connection")
    assert proxy.requests[0].method == "CONNECT"


@pytest.mark.parametrize(
    "setting", ["ftp://proxy.example", "::::", "socks5://127.0.0.1:1080"]
)
def test_an_unusable_proxy_setting_is_a_usage_error(run_cli, monkeypatch, setting):
    monkeypatch.setenv("HTTPS_PROXY", setting)

    with BadServer(CONFIG) as api:
        result = get_config(run_cli, api.url)

    assert result.exit_code == ExitCode.USAGE
    assert "cannot use the proxy set in the environment" in result.stderr
    assert "Traceback" not in result.stderr
    assert api.connections == 0


# Trust: SSL_CERT_FILE, SSL_CERT_DIR, else the operating system's store


@dataclass(frozen=True)
class Pki:
    ca: Path
    ca_dir: Path
    cert: Path
    key: Path


def openssl(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["openssl", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA and a server certificate for 127.0.0.1 signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make certificates")
    folder = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        folder, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=powsoo test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl(
        folder, "req", *ec, "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
    )
    openssl(
        folder, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
        "-days", "2", "-extfile", "server.ext",
    )  # fmt: skip

    # SSL_CERT_DIR finds a CA by its subject hash.
    ca_dir = folder / "certs"
    ca_dir.mkdir()
    subject_hash = openssl(folder, "x509", "-hash", "-noout", "-in", "ca.pem")
    shutil.copy(folder / "ca.pem", ca_dir / f"{subject_hash.strip()}.0")
    return Pki(folder / "ca.pem", ca_dir, folder / "server.pem", folder / "server.key")


@pytest.fixture
def tls_api(pki: Pki) -> Iterator[BadServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    with BadServer(CONFIG, tls=context) as server:
        yield server


@pytest.fixture
def no_trust_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_a_private_ca_is_refused_by_the_os_trust_store(
    run_cli, no_trust_variables, tls_api
):
    result = get_config(run_cli, tls_api.url)

    assert result.exit_code == ExitCode.UNREACHABLE
    first, hint = result.stderr.splitlines()
    assert first.startswith("powsoo: error: TLS with 127.0.0.1 failed")
    assert "certificate verify failed" in first
    assert "SSL_CERT_FILE" in hint
    assert tls_api.requests == []


def test_ssl_cert_file_makes_a_private_ca_trusted(
    run_cli, no_trust_variables, monkeypatch, pki, tls_api
):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))

    result = get_config(run_cli, tls_api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert len(tls_api.requests) == 1


def test_ssl_cert_dir_makes_a_private_ca_trusted(
    run_cli, no_trust_variables, monkeypatch, pki, tls_api
):
    monkeypatch.setenv("SSL_CERT_DIR", str(pki.ca_dir))

    result = get_config(run_cli, tls_api.url)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert len(tls_api.requests) == 1


def test_a_ca_bundle_without_the_private_ca_still_refuses_it(
    run_cli, no_trust_variables, monkeypatch, tmp_path, pki, tls_api
):
    other = tmp_path / "other"
    other.mkdir()
    openssl(
        other, "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "k.pem",
        "-out", "other-ca.pem", "-days", "1", "-subj", "/CN=another CA",
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(other / "other-ca.pem"))

    result = get_config(run_cli, tls_api.url)

    assert result.exit_code == ExitCode.UNREACHABLE
    assert "TLS with 127.0.0.1 failed" in result.stderr


def test_the_os_trust_store_is_used_when_no_variable_names_a_bundle(
    no_trust_variables, monkeypatch, pki
):
    import truststore

    assert isinstance(verify_context(), truststore.SSLContext)
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    assert verify_context() is True


# Every request ends: finite timeouts everywhere


MINTED = {
    "platform": "retell",
    "accessToken": "acc_" + "a" * 24,
    "callId": "call_1",
    "expiresAt": "2030-01-01T00:00:00Z",
    "sessionToken": "sst_" + "b" * 32,
}


def answer_everything(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/config"):
        return httpx.Response(200, json={})
    if path == "/v1/voice-tokens":
        return httpx.Response(200, json=MINTED)
    if path.endswith("/show-card"):
        return httpx.Response(200, json={"result": "{}"})
    if path.endswith("/stream"):
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, content=b"data: {}\n\n")
    return httpx.Response(204)


def test_every_endpoint_is_called_with_finite_timeouts():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer_everything(request)

    token = MINTED["sessionToken"]
    result = ResultRequest(
        toolCallId="tc_1", result=CardResult(status="confirmed", action="ok")
    )
    with PowsooClient(
        "http://api.test", transport=httpx.MockTransport(handler)
    ) as client:
        client.get_embed_config("wid_demo", ORIGIN)
        client.mint_voice_token("wid_demo", ORIGIN)
        client.post_result("call_1", token, result)
        client.show_card("call_1", {"title": "T", "actions": []}, wait=7.5)
        with client.open_stream("call_1", token, read_timeout=4.0):
            pass
        client.preflight("/v1/voice-tokens", ORIGIN, "POST", ["content-type"])

    assert len(seen) == 6
    for request in seen:
        timeouts = request.extensions["timeout"]
        assert set(timeouts) == {"connect", "read", "write", "pool"}
        assert all(
            value is not None and 0 < value < math.inf for value in timeouts.values()
        ), (request.url.path, timeouts)
    read = {request.url.path: request.extensions["timeout"]["read"] for request in seen}
    assert read["/v1/retell/tools/show-card"] == 7.5
    assert read["/v1/sessions/call_1/stream"] == 4.0


@pytest.mark.parametrize("wait", [math.inf, 1e308, math.nan, 0.0, -1.0])
def test_a_wait_that_would_never_end_is_refused_before_connecting(wait):
    with (
        BadServer(CONFIG) as api,
        PowsooClient(api.url) as client,
        pytest.raises(UsageError, match="out of range"),
    ):
        client.show_card("call_1", {"title": "T"}, wait=wait)

    assert api.connections == 0


@pytest.mark.parametrize("heartbeat", [0.2, 15.0])
def test_the_stream_read_timeout_is_three_heartbeat_intervals(heartbeat):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer_everything(request)

    client = PowsooClient("http://api.test", transport=httpx.MockTransport(handler))
    reader = EventReader(
        client, "call_1", MINTED["sessionToken"], heartbeat_interval=heartbeat
    )
    batches = list(reader.batches())

    assert batches and seen
    assert seen[0].extensions["timeout"]["read"] == STALL_FACTOR * heartbeat


def test_a_stream_that_goes_silent_ends_after_three_heartbeats(run_cli):
    from powsoo_cli import session_store

    answer = [stream_head(), sse_event({"type": "ready", "callId": "call_1"}), HOLD]
    with BadServer(answer) as api:
        session_store.save(
            session_store.SavedSession(
                base_url=api.url,
                widget_id="wid_demo",
                origin=ORIGIN,
                call_id="call_1",
                session_token=MINTED["sessionToken"],
                expires_at="2030-01-01T00:00:00+00:00",
            )
        )
        result = run_cli(
            "--base-url", api.url, "watch-events", "call_1", "--json",
            "--heartbeat-interval", "0.2", "--no-reconnect",
        )  # fmt: skip

    assert result.exit_code == ExitCode.UNREACHABLE, result.stderr
    assert '"type": "ready"' in result.stdout
    assert "the event stream sent nothing for" in result.stderr
