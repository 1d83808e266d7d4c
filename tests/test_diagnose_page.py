"""diagnose --page and CORS, against small local servers with chosen headers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powsoo_cli.diagnose.page import MAX_PAGE_BYTES
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.sandbox.app import create_app
from powsoo_cli.sandbox.server import bind_socket
from powsoo_cli.sandbox.state import SandboxConfig

EMBED = '<powsoo-voice widget-id="wid_demo"></powsoo-voice>'
MODULE = '<script type="module" src="https://w.powsoo.com/widget.js"></script>'
LOADER = (
    "<script{nonce}>(()=>{{const d=document,s=d.createElement('script');"
    "s.type='module';\ns.src='https://w.powsoo.com/widget.js';"
    "d.head.append(s);}})();</script>"
)


def html(*parts: str) -> str:
    return (
        "<!doctype html><html><head><title>shop</title></head><body>"
        + "".join(parts)
        + "</body></html>"
    )


def pages(api: str) -> dict[str, tuple[int, dict[str, str], str]]:
    return {
        "/good": (200, {}, html(EMBED, MODULE)),
        "/moved": (302, {"location": "/good"}, ""),
        "/missing": (404, {}, "no such page"),
        "/loader": (200, {}, html(EMBED, LOADER.format(nonce=""))),
        "/bare": (200, {}, html("<p>welcome</p>")),
        "/other": (
            200,
            {},
            html('<powsoo-voice widget-id="wid_other"></powsoo-voice>', MODULE),
        ),
        "/classic": (
            200,
            {},
            html(EMBED, '<script src="https://w.powsoo.com/widget.js"></script>'),
        ),
        "/csp-ok": (
            200,
            {
                "content-security-policy": "default-src 'self'; script-src 'self' "
                f"https://w.powsoo.com; connect-src 'self' {api}"
            },
            html(EMBED, MODULE),
        ),
        "/csp-strict": (
            200,
            {"content-security-policy": "default-src 'self'"},
            html(EMBED, LOADER.format(nonce="")),
        ),
        "/csp-meta": (
            200,
            {},
            html(
                '<meta http-equiv="Content-Security-Policy" '
                "content=\"script-src 'self'\">",
                EMBED,
                MODULE,
            ),
        ),
        "/csp-nonce": (
            200,
            {
                "content-security-policy": "script-src 'nonce-r4nd0m' "
                "'strict-dynamic'; connect-src *"
            },
            html(EMBED, LOADER.format(nonce=' nonce="r4nd0m"')),
        ),
        "/mic-none": (
            200,
            {"permissions-policy": "camera=(), microphone=()"},
            html(EMBED, MODULE),
        ),
        "/mic-self": (
            200,
            {
                "permissions-policy": (
                    'geolocation=(), microphone=(self "https://x.example")'
                )
            },
            html(EMBED, MODULE),
        ),
    }


@pytest.fixture(scope="module")
def site(sandbox) -> Iterator[str]:
    """A page server on loopback; its pages are built for the shared sandbox."""
    routes = pages(sandbox.url)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, "not here"))
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def diagnose(run_cli, sandbox, *args: str) -> tuple[int, dict]:
    result = run_cli(
        "--base-url",
        sandbox.url,
        "diagnose",
        "wid_demo",
        *args,
        "--heartbeat-wait",
        "0",
        "--json",
    )
    return result.exit_code, json.loads(result.stdout)


def check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


def test_a_good_page_is_healthy_and_lends_its_origin(run_cli, sandbox, site):
    code, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/good")

    assert report["verdict"] == "healthy"
    assert report["origin"] == f"http://{site}"
    for page_check in ("page.fetch", "page.embed", "page.csp", "page.permissions"):
        assert check(report, page_check)["status"] == "pass"
    assert check(report, "page.secure_context")["status"] == "pass"
    assert code == ExitCode.SUCCESS


def test_the_origin_is_the_final_one_after_redirects(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/moved")

    assert report["verdict"] == "healthy"
    assert "redirect" in check(report, "page.fetch")["detail"]
    assert report["page"] == f"http://{site}/moved"


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/bare", "no <powsoo-voice> element"),
        ("/other", "wid_other"),
        ("/classic", 'without type="module"'),
    ],
)
def test_an_incomplete_embed_is_page_embed_missing(
    run_cli, sandbox, site, path, needle
):
    code, report = diagnose(run_cli, sandbox, "--page", f"http://{site}{path}")

    assert report["verdict"] == "page_embed_missing"
    assert needle in check(report, "page.embed")["detail"]
    assert code == ExitCode.PROBLEM


def test_the_documented_inline_loader_counts_as_loading_the_bundle(
    run_cli, sandbox, site
):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/loader")

    embed = check(report, "page.embed")
    assert embed["status"] == "pass"
    assert "inline loader" in embed["detail"]


def test_a_policy_listing_the_bundle_and_the_api_passes(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/csp-ok")

    assert check(report, "page.csp")["status"] == "pass"
    assert report["verdict"] == "healthy"


def test_a_self_only_policy_blocks_loader_bundle_and_api(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/csp-strict")

    csp = check(report, "page.csp")
    assert report["verdict"] == "csp_blocks_widget"
    assert "blocks the inline loader" in csp["detail"]
    assert (
        "blocks https://w.powsoo.com/widget.js, which the loader adds"
        in (csp["detail"])
    )
    assert f"blocks the API {sandbox.url}" in csp["detail"]
    assert f"add {sandbox.url} to default-src" in csp["fix"]


def test_a_meta_policy_counts_like_a_header(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/csp-meta")

    csp = check(report, "page.csp")
    assert report["verdict"] == "csp_blocks_widget"
    assert "meta policy" in csp["detail"]
    assert "add https://w.powsoo.com to script-src" in csp["fix"]


def test_a_nonced_loader_under_strict_dynamic_passes(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/csp-nonce")

    assert check(report, "page.csp")["status"] == "pass"


def test_an_empty_microphone_allowlist_blocks_the_microphone(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/mic-none")

    assert report["verdict"] == "microphone_blocked"
    assert "microphone=()" in check(report, "page.permissions")["detail"]


def test_microphone_for_self_is_fine_for_the_top_level_page(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/mic-self")

    assert check(report, "page.permissions")["status"] == "pass"


def test_a_page_that_answers_404_is_page_unreachable(run_cli, sandbox, site):
    _, report = diagnose(run_cli, sandbox, "--page", f"http://{site}/missing")

    assert report["verdict"] == "page_unreachable"
    assert "HTTP 404" in check(report, "page.fetch")["detail"]


def test_a_plain_http_page_off_loopback_is_an_insecure_context(run_cli, sandbox, site):
    # 0.0.0.0 reaches the loopback server but is no secure host for a browser.
    port = site.rsplit(":", 1)[1]

    _, report = diagnose(
        run_cli,
        sandbox,
        "--page",
        f"http://0.0.0.0:{port}/good",
        "--origin",
        "http://localhost:5173",
    )

    assert report["verdict"] == "insecure_context"
    assert check(report, "page.fetch")["status"] == "warn"


# Pages a real site should never send, served raw


def test_an_embed_past_the_size_cap_is_reported_as_unread(run_cli, sandbox):
    from tests.badserver import BadServer, response

    padding = "<p>" + "x" * (MAX_PAGE_BYTES + 1024) + "</p>"
    page = response(200, html(padding, EMBED, MODULE), content_type="text/html")

    with BadServer(page) as server:
        _, report = diagnose(run_cli, sandbox, "--page", f"{server.url}/big")

    assert "only its first 5 MB were read" in check(report, "page.fetch")["detail"]
    embed = check(report, "page.embed")
    assert embed["status"] == "fail"
    assert "only the first 5 MB of the page were read" in embed["detail"]


def test_a_page_that_trickles_in_is_given_up_after_the_read_timeout(
    run_cli, sandbox, monkeypatch
):
    from tests.badserver import BadServer, Send, response

    head = response(200, content_type="text/html", length=False)
    # Each piece comes well within the read timeout; the whole never does.
    trickle = Send(b"<p>x</p>" * 40, size=8, pause=0.1)

    monkeypatch.setenv("POWSOO_READ_TIMEOUT", "1")

    with BadServer([head, trickle]) as server:
        _, report = diagnose(run_cli, sandbox, "--page", f"{server.url}/slow")

    assert report["verdict"] == "page_unreachable"
    assert "was still loading after 1 s" in check(report, "page.fetch")["detail"]


def test_a_page_that_is_not_html_says_so(run_cli, sandbox):
    from tests.badserver import BadServer, json_response

    with BadServer(json_response(200, {"ok": True})) as server:
        _, report = diagnose(run_cli, sandbox, "--page", f"{server.url}/api")

    assert (
        "the page is application/json, not HTML"
        in check(report, "page.embed")["detail"]
    )


def test_a_script_src_urllib_cannot_split_does_not_crash_the_checks(run_cli, sandbox):
    from tests.badserver import BadServer, response

    broken = '<script src="http://[::1/x.js"></script>'
    page = response(200, html(broken, EMBED, MODULE), content_type="text/html")

    with BadServer(page) as server:
        _, report = diagnose(run_cli, sandbox, "--page", f"{server.url}/odd")

    assert check(report, "page.embed")["status"] == "pass"
    assert check(report, "page.csp")["status"] == "pass"


# A proxy in front of the API that loses CORS headers


def rewrite_headers(
    app: ASGIApp,
    change: Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]],
) -> ASGIApp:
    async def proxied(scope: Scope, receive: Receive, send: Send) -> None:
        async def relay(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = change(list(message.get("headers", [])))
            await send(message)

        await app(scope, receive, relay)

    return proxied


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
    )
    thread.start()
    while not server.started:
        time.sleep(0.002)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def sandbox_app() -> ASGIApp:
    return create_app(SandboxConfig(heartbeat_interval=0.2))


def test_a_proxy_that_drops_cors_headers_is_cors_blocked(run_cli):
    def drop(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in headers if not k.startswith(b"access-control-")]

    with serve(rewrite_headers(sandbox_app(), drop)) as url:
        result = run_cli(
            "--base-url",
            url,
            "diagnose",
            "wid_demo",
            "--origin",
            "https://shop.example",
            "--json",
        )

    report = json.loads(result.stdout)
    assert report["verdict"] == "cors_blocked"
    assert [c["code"] for c in report["causes"]] == ["cors_blocked"]
    for cors_check in (
        "cors.preflight.mint",
        "cors.preflight.results",
        "cors.responses",
    ):
        assert check(report, cors_check)["status"] == "fail"
    assert check(report, "stream.events")["status"] == "pass"
    assert "no Access-Control-Allow-Origin" in check(report, "cors.responses")["detail"]


def test_a_preflight_without_the_token_header_blocks_only_results(run_cli):
    def narrow(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [
            (k, b"content-type") if k == b"access-control-allow-headers" else (k, v)
            for k, v in headers
            if k != b"access-control-expose-headers"
        ]

    with serve(rewrite_headers(sandbox_app(), narrow)) as url:
        result = run_cli(
            "--base-url",
            url,
            "diagnose",
            "wid_demo",
            "--origin",
            "https://shop.example",
            "--heartbeat-wait",
            "0",
            "--json",
        )

    report = json.loads(result.stdout)
    assert report["verdict"] == "cors_blocked"
    assert check(report, "cors.preflight.mint")["status"] == "pass"
    results = check(report, "cors.preflight.results")
    assert results["status"] == "fail"
    assert "lacks x-powsoo-session-token" in results["detail"]
    assert check(report, "cors.responses")["status"] == "warn"
