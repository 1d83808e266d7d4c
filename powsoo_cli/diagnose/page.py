"""page.*: the page that embeds the widget, as a browser would load it.

Only the HTML the server sends is read (no JavaScript runs), so an embed
that a page builds in script is invisible here; the detail says so. The
checks: the page loads; it has ``<powsoo-voice widget-id=...>`` for this
widget and loads the bundle (a module script or the documented inline
loader, §10); its Content-Security-Policy lets the bundle load and the API
be reached; its Permissions-Policy leaves the microphone to the page; and
it is a secure context, without which browsers withhold the microphone.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from powsoo_cli.diagnose import csp
from powsoo_cli.diagnose.base import CheckResult, PageFacts, Run, result, skipped
from powsoo_cli.origins import OriginError, parse_origin

FETCH_ID = "page.fetch"
FETCH_TITLE = "Page loads"
EMBED_ID = "page.embed"
EMBED_TITLE = "Widget embed in the page"
CSP_ID = "page.csp"
CSP_TITLE = "Content-Security-Policy"
PERMISSIONS_ID = "page.permissions"
PERMISSIONS_TITLE = "Microphone permission policy"
SECURE_ID = "page.secure_context"
SECURE_TITLE = "Secure context"

BUNDLE_URL = "https://w.powsoo.com/widget.js"
BUNDLE_HOST = "w.powsoo.com"
MAX_PAGE_BYTES = 5 * 1024 * 1024
POLICY_HEADERS = ("content-security-policy", "permissions-policy", "feature-policy")
_SECURE_HOSTS = re.compile(r"localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\]")


# ----------------------------------------------------------------- reading


@dataclass
class Script:
    src: str | None
    type: str
    nonce: str | None
    text: str = ""


@dataclass
class Embed:
    """What the HTML holds that concerns the widget."""

    widget_ids: list[str | None] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)
    csp_metas: list[str] = field(default_factory=list)


class _EmbedParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Embed()
        self._script: Script | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "powsoo-voice":
            self.found.widget_ids.append(values.get("widget-id"))
        elif tag == "script":
            self._script = Script(
                values.get("src"),
                (values.get("type") or "").strip().lower(),
                values.get("nonce"),
            )
            self.found.scripts.append(self._script)
        elif tag == "meta":
            equiv = (values.get("http-equiv") or "").strip().lower()
            if equiv == "content-security-policy" and values.get("content"):
                self.found.csp_metas.append(values["content"] or "")

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def read_embed(html: str) -> Embed:
    parser = _EmbedParser()
    parser.feed(html)
    parser.close()
    return parser.found


def is_bundle(src: str, page_url: str) -> bool:
    try:
        parts = urlsplit(urljoin(page_url, src))
    except ValueError:  # a malformed src, e.g. an unclosed IPv6 bracket
        return False
    return (
        parts.scheme == "https"
        and (parts.hostname or "") == BUNDLE_HOST
        and parts.path == "/widget.js"
    )


def _loader(script: Script) -> bool:
    return script.src is None and "w.powsoo.com/widget.js" in script.text


def secure_context(url: str) -> bool:
    """Whether browsers treat a page at ``url`` as a secure context."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return parts.scheme == "https" or (
        parts.scheme == "http" and _SECURE_HOSTS.fullmatch(host) is not None
    )


# ----------------------------------------------------------------- checks


def check_fetch(run: Run) -> CheckResult:
    page = run.target.page
    if page is None:
        return skipped(FETCH_ID, FETCH_TITLE, "no --page given")

    from powsoo_cli.client import user_agent

    started = time.perf_counter()
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                timeout=httpx.Timeout(run.read_timeout, connect=run.connect_timeout),
                headers={"user-agent": user_agent(), "accept": "text/html,*/*;q=0.8"},
            ) as http,
            http.stream("GET", page) as response,
        ):
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    break
                if run.cancelled.is_set():
                    return skipped(FETCH_ID, FETCH_TITLE, "interrupted")
                # A page that trickles in never trips the read timeout.
                if time.perf_counter() - started > run.read_timeout:
                    return result(
                        FETCH_ID,
                        FETCH_TITLE,
                        "fail",
                        f"{page} was still loading after {run.read_timeout:g} s",
                        fix="Check that the page loads quickly from this machine, "
                        "or raise --read-timeout.",
                        cause="page_unreachable",
                    )
            final_url = str(response.url)
            status = response.status_code
            headers = response.headers
            hops = len(response.history)
            # Cut at the cap exactly: what is judged must not hang on chunk sizes.
            truncated = len(body) > MAX_PAGE_BYTES
            html = body[:MAX_PAGE_BYTES].decode(
                response.encoding or "utf-8", errors="replace"
            )
    except httpx.HTTPError as exc:
        return result(
            FETCH_ID,
            FETCH_TITLE,
            "fail",
            f"could not load {page}: {exc or type(exc).__name__}",
            fix="Check the page URL and that it loads from this machine.",
            cause="page_unreachable",
        )
    elapsed = time.perf_counter() - started

    try:
        final_origin: str | None = str(parse_origin(_origin_of(final_url)))
    except OriginError:
        final_origin = None
    run.page = PageFacts(
        page,
        final_url,
        final_origin,
        status,
        headers,
        {name: headers.get_list(name) for name in POLICY_HEADERS},
        html,
        truncated=truncated,
    )
    if run.target.origin is None:
        run.origin = final_origin

    moved = f" after {hops} redirect(s) to {final_url}" if hops else ""
    if run.page.truncated:
        moved += f"; only its first {MAX_PAGE_BYTES // 2**20} MB were read"
    if status >= 400:
        found = result(
            FETCH_ID,
            FETCH_TITLE,
            "fail",
            f"HTTP {status} for {page}{moved}",
            fix="Point --page at the page that embeds the widget.",
            cause="page_unreachable",
        )
    elif run.target.origin and final_origin and final_origin != run.target.origin:
        found = result(
            FETCH_ID,
            FETCH_TITLE,
            "warn",
            f"HTTP {status}{moved}; the browser would send Origin {final_origin}, "
            f"not {run.target.origin}",
        )
    else:
        found = result(
            FETCH_ID,
            FETCH_TITLE,
            "pass",
            f"HTTP {status}{moved}; origin {final_origin}",
        )
    found.duration = elapsed
    return found


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def check_embed(run: Run) -> CheckResult:
    page = run.page
    if page is None:
        return skipped(EMBED_ID, EMBED_TITLE, "the page was not loaded")

    embed = read_embed(page.html)
    widget = run.target.widget
    unseen = " (only the HTML as sent is read: an embed built by script is unseen)"
    fix = (
        f'Add <powsoo-voice widget-id="{widget}"></powsoo-voice> and load '
        f'{BUNDLE_URL} as a module: <script type="module" src="{BUNDLE_URL}">'
        "</script>, or the dashboard's embed snippet."
    )

    problems = []
    kind = page.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and "html" not in kind:
        problems.append(f"the page is {kind}, not HTML")
    if page.truncated:
        unseen = f" (only the first {MAX_PAGE_BYTES // 2**20} MB of the page were read)"
    if not embed.widget_ids:
        problems.append("no <powsoo-voice> element" + unseen)
    elif widget not in embed.widget_ids:
        others = sorted({w or "(no widget-id)" for w in embed.widget_ids})
        problems.append(
            f"<powsoo-voice> is there, but for {', '.join(others)}, not {widget}"
        )

    tags = [s for s in embed.scripts if s.src and is_bundle(s.src, page.final_url)]
    loaders = [s for s in embed.scripts if _loader(s)]
    how = ""
    if tags:
        if not any(s.type == "module" for s in tags):
            problems.append(f'{BUNDLE_URL} is loaded without type="module"')
        else:
            how = "module script"
    elif loaders:
        how = "inline loader"
    else:
        elsewhere = [
            s.src for s in embed.scripts if s.src and s.src.endswith("widget.js")
        ]
        problems.append(
            f"no script loads {BUNDLE_URL}"
            + (f" (found {', '.join(elsewhere)})" if elsewhere else "")
        )

    if problems:
        return result(
            EMBED_ID,
            EMBED_TITLE,
            "fail",
            "; ".join(problems),
            fix=fix,
            cause="page_embed_missing",
        )
    return result(
        EMBED_ID,
        EMBED_TITLE,
        "pass",
        f'<powsoo-voice widget-id="{widget}"> and the bundle ({how})',
    )


def _api_url(run: Run) -> str:
    return run.api_base_url.rstrip("/") + "/v1/voice-tokens"


def check_csp(run: Run) -> CheckResult:
    page = run.page
    if page is None:
        return skipped(CSP_ID, CSP_TITLE, "the page was not loaded")

    embed = read_embed(page.html)
    policies = csp.parse_policies(
        page.header_lists.get("content-security-policy", []), embed.csp_metas
    )
    if not policies:
        return result(CSP_ID, CSP_TITLE, "pass", "no Content-Security-Policy")

    api_origin = _origin_of(run.api_base_url)
    tags = [s for s in embed.scripts if s.src and is_bundle(s.src, page.final_url)]
    loaders = [s for s in embed.scripts if _loader(s)]
    blocked: list[str] = []
    fixes: list[str] = []
    for policy in policies:
        where = f"the {policy.source} policy"
        script = policy.governing(csp.SCRIPT_CHAIN)
        if script is not None:
            name, sources = script
            dynamic = csp.strict_dynamic(sources)
            bundle_ok = dynamic or csp.url_allowed(sources, BUNDLE_URL, page.final_url)
            for tag in tags:
                nonced = bool(tag.nonce) and f"'nonce-{tag.nonce}'" in sources
                allowed = nonced or (
                    not dynamic and csp.url_allowed(sources, BUNDLE_URL, page.final_url)
                )
                if not allowed:
                    blocked.append(f"{name} in {where} blocks {BUNDLE_URL}")
                    fixes.append(
                        "give the bundle's script tag the policy's nonce"
                        if dynamic
                        else f"add https://{BUNDLE_HOST} to {name}"
                    )
            for loader in loaders:
                if not csp.inline_allowed(sources, loader.nonce, loader.text):
                    blocked.append(f"{name} in {where} blocks the inline loader")
                    fixes.append("give the inline loader a nonce or hash")
                if not bundle_ok:
                    blocked.append(
                        f"{name} in {where} blocks {BUNDLE_URL}, which the loader adds"
                    )
                    fixes.append(f"add https://{BUNDLE_HOST} to {name}")
            if not tags and not loaders and not bundle_ok:
                blocked.append(f"{name} in {where} would block {BUNDLE_URL}")
                fixes.append(f"add https://{BUNDLE_HOST} to {name}")
        connect = policy.governing(csp.CONNECT_CHAIN)
        if connect is not None:
            name, sources = connect
            if not csp.url_allowed(sources, _api_url(run), page.final_url):
                blocked.append(f"{name} in {where} blocks the API {api_origin}")
                fixes.append(f"add {api_origin} to {name}")

    if blocked:
        return result(
            CSP_ID,
            CSP_TITLE,
            "fail",
            "; ".join(dict.fromkeys(blocked)),
            fix="In the page's Content-Security-Policy, "
            + "; ".join(dict.fromkeys(fixes))
            + ".",
            cause="csp_blocks_widget",
        )
    count = (
        "the policy allows" if len(policies) == 1 else f"{len(policies)} policies allow"
    )
    return result(
        CSP_ID, CSP_TITLE, "pass", f"{count} the bundle and the API {api_origin}"
    )


def microphone_allowlist(values: list[str]) -> list[str] | None:
    """The microphone members of Permissions-Policy, or None if not named."""
    for member in ",".join(values).split(","):
        key, sep, value = member.strip().partition("=")
        if not sep or key.strip().lower() != "microphone":
            continue
        value = value.split(";", 1)[0].strip()
        if value.startswith("(") and value.endswith(")"):
            return value[1:-1].split()
        return [value] if value else []
    return None


def mic_allowed(allowlist: list[str], page_origin: str | None) -> bool:
    """For the top-level document: ``*``, ``self`` or its own origin."""
    return any(
        item == "*" or item == "self" or item.strip('"') == page_origin
        for item in allowlist
    )


def check_permissions(run: Run) -> CheckResult:
    page = run.page
    if page is None:
        return skipped(PERMISSIONS_ID, PERMISSIONS_TITLE, "the page was not loaded")

    allowlist = microphone_allowlist(page.header_lists.get("permissions-policy", []))
    fix = (
        "Allow the microphone for the page itself: Permissions-Policy: "
        "microphone=(self) (or drop the microphone member)."
    )
    if allowlist is not None:
        shown = f"microphone=({' '.join(allowlist)})"
        if mic_allowed(allowlist, page.origin):
            return result(
                PERMISSIONS_ID,
                PERMISSIONS_TITLE,
                "pass",
                f"Permissions-Policy {shown} lets the page use the microphone",
            )
        return result(
            PERMISSIONS_ID,
            PERMISSIONS_TITLE,
            "fail",
            f"Permissions-Policy {shown} keeps the microphone from the page",
            fix=fix,
            cause="microphone_blocked",
        )

    legacy = " ".join(page.header_lists.get("feature-policy", [])).lower()
    if re.search(r"(^|;)\s*microphone\s+'none'", legacy):
        return result(
            PERMISSIONS_ID,
            PERMISSIONS_TITLE,
            "fail",
            "Feature-Policy microphone 'none' keeps the microphone from the page",
            fix=fix,
            cause="microphone_blocked",
        )
    return result(
        PERMISSIONS_ID,
        PERMISSIONS_TITLE,
        "pass",
        "no policy names the microphone (the default allows the page itself)",
    )


def check_secure(run: Run) -> CheckResult:
    if run.target.page is not None:
        if run.page is None:
            return skipped(SECURE_ID, SECURE_TITLE, "the page was not loaded")
        url, what = run.page.final_url, "the page"
    elif run.origin is not None:
        url, what = run.origin, "the origin"
    else:
        return skipped(SECURE_ID, SECURE_TITLE, "no page or origin")

    if secure_context(url):
        return result(SECURE_ID, SECURE_TITLE, "pass", f"{what} {url} is secure")
    return result(
        SECURE_ID,
        SECURE_TITLE,
        "fail",
        f"{what} {url} is plain http on a host other than localhost, so browsers "
        "withhold the microphone",
        fix="Serve the page over https (http://localhost and http://127.0.0.1 "
        "are fine for local testing).",
        cause="insecure_context",
    )
