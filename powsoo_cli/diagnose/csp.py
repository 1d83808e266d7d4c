"""Content-Security-Policy, as far as the widget is concerned.

Pure functions over policy text, following CSP Level 3 where it matters
here: which directive governs a request (``script-src-elem`` falls back to
``script-src`` then ``default-src``; ``connect-src`` to ``default-src``),
whether a URL matches a source list (``*``, schemes, hosts with ``*.``
wildcards, ports, paths, ``'self'``, and the http-to-https upgrade), and
whether an inline script may run (``'unsafe-inline'``, nonces, hashes).
Every policy delivered applies on its own, so a request must pass all.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

SCRIPT_CHAIN = ("script-src-elem", "script-src", "default-src")
CONNECT_CHAIN = ("connect-src", "default-src")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class Policy:
    """One policy: directive name to its source expressions, as delivered."""

    directives: dict[str, list[str]]
    source: str  # "header" or "meta"

    def governing(self, chain: tuple[str, ...]) -> tuple[str, list[str]] | None:
        """The first directive of ``chain`` this policy has, with its sources."""
        for name in chain:
            if name in self.directives:
                return name, self.directives[name]
        return None


def parse_policy(text: str, source: str) -> Policy:
    directives: dict[str, list[str]] = {}
    for part in text.split(";"):
        tokens = part.split()
        if not tokens:
            continue
        name = tokens[0].lower()
        # The first occurrence of a directive wins; later ones are ignored.
        directives.setdefault(name, tokens[1:])
    return Policy(directives, source)


def parse_policies(headers: list[str], metas: list[str]) -> list[Policy]:
    """Header values may carry several policies separated by commas."""
    policies = [
        parse_policy(text, "header")
        for value in headers
        for text in value.split(",")
        if text.strip()
    ]
    policies += [parse_policy(text, "meta") for text in metas if text.strip()]
    return policies


@dataclass(frozen=True)
class _Url:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> _Url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
        return cls(scheme, (parts.hostname or "").lower(), port, parts.path or "/")


def _scheme_matches(expression: str, scheme: str) -> bool:
    """CSP's scheme-part match, with the secure upgrades it allows."""
    return (
        expression == scheme
        or (expression == "http" and scheme == "https")
        or (expression == "ws" and scheme in ("wss", "http", "https"))
        or (expression == "wss" and scheme == "https")
    )


def _host_source_matches(expression: str, url: _Url, page: _Url) -> bool:
    rest = expression
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        scheme = scheme.lower()
        if not _scheme_matches(scheme, url.scheme):
            return False
    elif not _scheme_matches(page.scheme, url.scheme):
        return False

    path = ""
    if "/" in rest:
        rest, path = rest.split("/", 1)
        path = "/" + path
    host, _, port = rest.partition(":")
    host = host.lower()
    if host == "*":
        pass
    elif host.startswith("*."):
        if not url.host.endswith(host[1:]):
            return False
    elif host != url.host:
        return False

    # An empty port means the scheme's default; a URL port is always explicit
    # here, so both compare with it directly.
    if port == "*":
        pass
    elif port:
        if not port.isdigit() or int(port) != url.port:
            return False
    elif url.port != _DEFAULT_PORTS.get(url.scheme):
        return False

    if path and path != "/":
        if path.endswith("/"):
            return url.path.startswith(path)
        return url.path == path
    return True


def url_allowed(sources: list[str], url: str, page_url: str) -> bool:
    """Whether ``url`` matches the source list of a page at ``page_url``."""
    target = _Url.of(url)
    page = _Url.of(page_url)
    for expression in sources:
        lowered = expression.lower()
        if lowered == "*":
            if target.scheme in ("http", "https", "ws", "wss") or (
                target.scheme == page.scheme
            ):
                return True
        elif lowered == "'self'":
            same = (target.host, target.port) == (page.host, page.port)
            upgraded = (
                page.scheme == "http"
                and target.scheme == "https"
                and target.host == page.host
            )
            if (same and target.scheme == page.scheme) or upgraded:
                return True
        elif lowered.startswith("'"):
            continue  # keywords, nonces and hashes never match a URL
        elif lowered.endswith(":") and "/" not in lowered:
            if _scheme_matches(lowered[:-1], target.scheme):
                return True
        elif _host_source_matches(expression, target, page):
            return True
    return False


def strict_dynamic(sources: list[str]) -> bool:
    return any(s.lower() == "'strict-dynamic'" for s in sources)


def _has_nonce_or_hash(sources: list[str]) -> bool:
    return any(
        s.lower().startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-"))
        for s in sources
    )


def inline_allowed(sources: list[str], nonce: str | None, text: str) -> bool:
    """Whether an inline script with this nonce and text may run."""
    if nonce and f"'nonce-{nonce}'" in sources:
        return True
    for expression in sources:
        algorithm, _, digest = expression.strip("'").partition("-")
        make = _HASHES.get(algorithm.lower())
        if make is not None and digest:
            actual = base64.b64encode(make(text.encode()).digest()).decode()
            if actual == digest:
                return True
    # A nonce or hash in the list, or 'strict-dynamic', disables 'unsafe-inline'.
    lowered = [s.lower() for s in sources]
    return (
        "'unsafe-inline'" in lowered
        and not _has_nonce_or_hash(sources)
        and not strict_dynamic(sources)
    )
