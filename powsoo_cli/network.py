"""The network around the API: proxies and the certificates to trust."""

from __future__ import annotations

import os
import ssl

import httpx


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
