"""api.reachable: the API answers at all, and how fast each step is.

There is no health endpoint (§13 #33), so the liveness probe is a config
fetch with ``Origin: http://localhost``, which every widget allows; its
answer is kept for the config.localhost check. Name lookup, connect and TLS
are timed separately on a throwaway socket so that a slow step can be named;
the probe alone decides whether the API is reachable.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import httpx

from powsoo_cli.diagnose.base import LOCALHOST, Answer, CheckResult, Run, ask, result

ID = "api.reachable"
TITLE = "API reachable"
# Slower than this, a page's widget feels broken even when it works.
SLOW_SECONDS = 2.0

Address = tuple[int, tuple[str, int]]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _resolve(host: str, port: int, timeout: float) -> tuple[Address, float]:
    """The first address of ``host`` and the lookup time; getaddrinfo cannot
    be interrupted, so it runs in a thread we stop waiting for."""
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="powsoo-dns")
    try:
        future = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        infos = future.result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)
    family, _, _, _, sockaddr = infos[0]
    return (family, (str(sockaddr[0]), int(sockaddr[1]))), time.perf_counter() - started


def _through_proxy(url: httpx.URL) -> bool:
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    return bool(proxy) and not urllib.request.proxy_bypass(url.host)


def _time_connection(
    address: Address, host: str, tls: bool, timeout: float
) -> list[str]:
    """Connect (and shake hands) once, only to time it."""
    family, sockaddr = address
    steps = []
    started = time.perf_counter()
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
        steps.append(f"connect {_ms(time.perf_counter() - started)}")
        if tls:
            # Timing only: the probe below verifies the certificate properly.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            started = time.perf_counter()
            with context.wrap_socket(sock, server_hostname=host) as secure:
                steps.append(
                    f"TLS {_ms(time.perf_counter() - started)} ({secure.version()})"
                )
    return steps


# Name lookup and connect, timed once per API and process: a fleet run asks
# the same API about hundreds of widgets, and the answer cannot differ.
_timings: dict[tuple[str, int, str], tuple[list[str], list[str]]] = {}
_timings_lock = threading.Lock()


def _connection_steps(
    host: str, port: int, scheme: str, run: Run
) -> tuple[list[str], list[str]]:
    """The timed steps to ``host``, and what failed on the way, if anything."""
    key = (host, port, scheme)
    with _timings_lock:
        if key not in _timings:
            _timings[key] = _measure(host, port, scheme, run.connect_timeout)
        steps, failure = _timings[key]
    return list(steps), list(failure)


def _measure(
    host: str, port: int, scheme: str, timeout: float
) -> tuple[list[str], list[str]]:
    try:
        address, lookup = _resolve(host, port, timeout)
        steps = [f"name lookup {_ms(lookup)} ({address[1][0]})"]
        steps += _time_connection(address, host, scheme == "https", timeout)
    except (OSError, FutureTimeout, IndexError) as exc:
        return [], [f"direct connection: {exc or type(exc).__name__}"]
    return steps, []


def check(run: Run) -> CheckResult:
    started = time.perf_counter()
    url = httpx.URL(run.api_base_url)
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    steps: list[str] = []
    notes: list[str] = []

    if _through_proxy(url):
        steps.append("through the configured proxy")
    else:
        timed, failure = _connection_steps(host, port, url.scheme, run)
        steps += timed
        notes += failure

    probe: Answer = ask(
        lambda: run.client.get_embed_config(run.target.widget, LOCALHOST)
    )
    run.answers["config.localhost"] = probe
    if probe.reached:
        steps.append(f"probe answered in {_ms(probe.elapsed)}")
    detail = " · ".join(steps)

    if not probe.reached:
        found = result(
            ID,
            TITLE,
            "fail",
            f"{probe.message} ({detail})" if detail else probe.message,
            answers=(probe,),
            cause="api_unreachable",
            kind=probe.failure,
        )
    elif probe.elapsed > SLOW_SECONDS:
        found = result(
            ID,
            TITLE,
            "warn",
            f"{detail}; slow: a config fetch took over {SLOW_SECONDS:.0f} s",
            answers=(probe,),
        )
    else:
        found = result(ID, TITLE, "pass", detail, answers=(probe,))
    if notes and found.status != "fail":
        found.detail += "; " + "; ".join(notes)
    found.duration = time.perf_counter() - started
    return found
