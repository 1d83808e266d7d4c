"""Catalogue of every error an operator of the Powsoo voice-widget API can meet.

Each entry explains one error code: what it means, its likely causes (most likely
first), a concrete fix, the HTTP status it arrives with, and the exit code the CLI
uses when that error stops a command. Three kinds of code live here:

* codes the API documents in its error table (``documented=True``), including the
  five log-only sub-reasons that the API hides behind ``widget_unavailable``
  (``visible=False``: a client never sees them on the wire);
* codes the API specification only assumes for statuses the docs leave without a
  code (``invalid_request``, ``widget_timeout``, ``tool_call_not_found``);
* the CLI's own codes for problems found without an API error code: network
  failures, unexpected 5xx or non-JSON answers, rate limiting, and page/browser
  checks made by ``powsoo diagnose``.

The module is pure data plus two lookups, :func:`lookup` and
:func:`describe_status`, and imports nothing beyond ``dataclasses`` so that it
stays cheap to import from every command.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "HIDDEN_SUB_REASONS", "ErrorInfo", "describe_status", "lookup"]

# CLI exit codes used by catalogue entries (0, 2 and 130 never come from an error
# code: success, usage error and interruption are decided elsewhere).
_EXIT_API_ERROR = 1  # the API answered with an error, or a check found a problem
_EXIT_UNREACHABLE = 3  # the API could not be reached
_EXIT_TOKEN_REJECTED = 4  # the session token was rejected


@dataclass(frozen=True)
class ErrorInfo:
    """What one error code means and what an operator should do about it."""

    code: str
    http_status: int | None
    """HTTP status the code arrives with; ``None`` for client-side codes."""
    title: str
    """A few words, suitable for a heading."""
    meaning: str
    """One sentence: what the error means."""
    causes: tuple[str, ...]
    """Likely causes, most likely first."""
    fix: str
    """The concrete fix: dashboard path, header or setting to change."""
    visible: bool
    """True if the API returns this code on the wire. False for the log-only
    sub-reasons hidden behind ``widget_unavailable`` and for the CLI's own codes."""
    exit_code: int
    """The CLI's exit code when this error stops a command."""
    documented: bool
    """True if the code is in the API's documented error table; False for codes the
    specification only assumes and for the CLI's own codes."""


_ENTRIES: tuple[ErrorInfo, ...] = (
    # --- Documented codes, in the order of the API's error table -----------------
    ErrorInfo(
        code="widget_unavailable",
        http_status=404,
        title="Widget unavailable",
        meaning=(
            "The server could not hand out the widget's config or a voice token for "
            "this Origin, and it hides the real reason, which is one of five log-only "
            "sub-reasons: origin_not_allowed, widget_not_found, "
            "voice_platform_not_connected, retell_agent_not_configured or "
            "decryption_failed."
        ),
        causes=(
            "The page origin is not on the widget's Allowed origins list "
            "(origin_not_allowed).",
            "The request carried no Origin header or a null one, as curl and "
            "file:// pages do (assumed to be rejected the same way).",
            "The widget id is wrong or belongs to another environment "
            "(widget_not_found).",
            "No Retell/Vapi account is attached to the widget "
            "(voice_platform_not_connected).",
            "No Retell agent is picked for the widget (retell_agent_not_configured).",
            "The stored platform key cannot be decrypted because "
            "VOICE_PLATFORM_KEY_SECRET changed (decryption_failed).",
        ),
        fix=(
            "Run `powsoo diagnose` to narrow the sub-reason down: it retries with "
            "Origin http://localhost, which is always allowed, so if that succeeds "
            "the page origin is the problem and belongs under Widgets → [widget] → "
            "Allowed origins. If localhost fails too, check the wid_ id and the base "
            "URL's environment, then Voice platforms and the widget's agent, and "
            "finally reconnect the platform account."
        ),
        visible=True,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="origin_not_allowed",
        http_status=404,
        title="Origin not on the allowlist",
        meaning=(
            "The page's Origin does not match any entry of the widget's Allowed "
            "origins list, so config and mint requests are refused."
        ),
        causes=(
            "The page origin is missing from the widget's Allowed origins list.",
            "A bare entry such as example.com only matches https://example.com: "
            "subdomains like www.example.com are not covered.",
            "A wildcard entry such as *.example.com does not cover the apex "
            "example.com (assumed).",
            "The page is served over plain http or on a non-default port, while "
            "bare and wildcard entries require https on the default port (assumed).",
            "The request had no Origin header or a null one, as from curl or "
            "file:// pages (assumed to fail).",
            "Staging pages are calling a production widget, or the other way round.",
        ),
        fix=(
            "Add the exact page origin under Widgets → [widget] → Allowed origins: "
            "example.com for https://example.com, *.example.com for its subdomains "
            "(list the apex too if needed), host:port for a non-default port. The "
            "change applies to the next mint. localhost and 127.0.0.1 are always "
            "allowed (on any port, by assumption)."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="widget_not_found",
        http_status=404,
        title="No widget with that id",
        meaning="No widget with this wid_ id exists in the environment asked.",
        causes=(
            "The widget id is mistyped or copied incompletely.",
            "The id belongs to another environment or Supabase project "
            "(staging vs production, or a local setup).",
        ),
        fix=(
            "Copy the widget's wid_ id from the dashboard's Widgets list and check "
            "that the base URL matches that widget's environment: "
            "https://api.powsoo.com for production, https://api-staging.powsoo.com "
            "for staging."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="voice_platform_not_connected",
        http_status=404,
        title="No voice platform connected",
        meaning="The widget has no Retell or Vapi account attached to it.",
        causes=(
            "No Retell or Vapi account has been connected under Voice platforms.",
            "The widget is not attached to the account that was connected.",
        ),
        fix=(
            "Connect a Retell or Vapi account under Voice platforms, then make sure "
            "the widget uses it."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="retell_agent_not_configured",
        http_status=404,
        title="No Retell agent picked",
        meaning="The widget has no Retell agent chosen, so no call can be started.",
        causes=("No agent has been picked in the widget's settings.",),
        fix=(
            "Open the widget in the dashboard (Widgets → [widget]) and pick a Retell "
            "agent. Pages that already loaded may show the old agent metadata for up "
            "to 30 minutes because the browser caches the widget config."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="decryption_failed",
        http_status=404,
        title="Stored platform key unreadable",
        meaning=(
            "The widget's stored voice-platform key could not be decrypted because "
            "the server's secret differs from the one used to encrypt it."
        ),
        causes=(
            "VOICE_PLATFORM_KEY_SECRET differs from the secret the key was "
            "encrypted with (for example after the secret was changed).",
            "In local development, VOICE_PLATFORM_KEY_SECRET in .env does not match "
            "the Supabase project's secret.",
        ),
        fix=(
            "Reconnect the platform account under Voice platforms → [account] → "
            "Reconnect so the key is encrypted again with the current secret. "
            "If you run the Powsoo API yourself, its VOICE_PLATFORM_KEY_SECRET "
            "must be the secret the key was stored with."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="retell_auth_failed",
        http_status=502,
        title="Retell rejected the API key",
        meaning=(
            "Retell refused the decrypted API key when Powsoo asked it to create the "
            "web call."
        ),
        causes=(
            "The key was revoked or rotated in Retell.",
            "The key was pasted with trailing whitespace.",
            "The key is not allowed to call Retell's /v2/create-web-call.",
        ),
        fix=(
            "In Retell, copy the current API key (one allowed to call "
            "/v2/create-web-call), then go to Voice platforms → [account] → "
            "Reconnect and paste it without surrounding whitespace."
        ),
        visible=True,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="plan_limit_exceeded",
        http_status=402,
        title="Plan call cap reached",
        meaning=(
            "The account has hit its plan's monthly call cap, so no new call can be "
            "started."
        ),
        causes=(
            "The monthly call cap of the current plan is used up.",
            "Test mints may have consumed quota: each mint creates a real Retell "
            "web call.",
        ),
        fix=(
            "Upgrade the plan in the Powsoo dashboard, or wait for the monthly cap "
            "to reset; avoid minting test calls against a production widget."
        ),
        visible=True,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    ErrorInfo(
        code="invalid_session_token",
        http_status=401,
        title="Session token rejected",
        meaning=(
            "The sst_ session token for the stream or results endpoint is missing, "
            "wrong or expired."
        ),
        causes=(
            "The token expired: it lives about 10 minutes after the mint.",
            "The call has ended, which discards its token.",
            "The token belongs to another callId; each token is tied to one call.",
            "No token was sent, or a redacted or truncated copy was pasted.",
        ),
        fix=(
            "Mint a new call and use its sessionToken with that same callId, sent in "
            "the x-powsoo-session-token header (or ?token= for EventSource-style "
            "readers)."
        ),
        visible=True,
        exit_code=_EXIT_TOKEN_REJECTED,
        documented=True,
    ),
    ErrorInfo(
        code="session_not_found",
        http_status=404,
        title="No live session for that call",
        meaning=(
            "The callId has no live session: unknown on the stream or results "
            "endpoint, or no widget is subscribed to it when the card webhook "
            "arrives."
        ),
        causes=(
            "The call has ended or its session lapsed.",
            "The callId is mistyped or comes from another environment.",
            "On the show-card webhook: the widget did not open the stream right "
            "after minting and before starting the Retell call, or the stream closed.",
        ),
        fix=(
            "Mint a fresh call and use its callId against the same base URL. For "
            "webhook 404s, make the widget open /v1/sessions/{callId}/stream "
            "immediately after the mint and keep it open for the whole call."
        ),
        visible=True,
        exit_code=_EXIT_API_ERROR,
        documented=True,
    ),
    # --- Codes the specification assumes for statuses documented without a code --
    ErrorInfo(
        code="invalid_request",
        http_status=400,
        title="Malformed request",
        meaning=(
            "The mint request or the card webhook was rejected because its body is "
            "malformed."
        ),
        causes=(
            "The body is not valid JSON.",
            "widgetId does not match ^wid_[A-Za-z0-9]+$ (missing prefix, spaces, "
            "quotes or other characters).",
            "A show-card webhook lacks call.call_id, or its args are null or missing.",
        ),
        fix=(
            "Send a JSON body with Content-Type: application/json; copy the widgetId "
            "exactly as wid_ followed by letters and digits. Webhook payloads need "
            "call.call_id and the card definition in args."
        ),
        visible=True,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="widget_timeout",
        http_status=504,
        title="Nobody answered the card",
        meaning=(
            "Powsoo held the show-card webhook for 110 seconds and gave up because "
            "no result for the card arrived."
        ),
        causes=(
            "Nobody answered the card within 110 seconds.",
            "The card waited in the widget's queue behind another open card "
            "(one card at a time, each with its own 110-second clock).",
            "Another subscriber (such as a terminal attached to the call) took the "
            "stream over, so the page's widget never received the card.",
            "The widget's results POST never reached Powsoo, e.g. its CORS "
            "preflight failed.",
        ),
        fix=(
            "Answer the card within 110 seconds (Retell's own 2-minute timeout is "
            "longer, so Powsoo's 504 comes first). If no card appeared, check that "
            "the page's stream was open and not taken over, and that its results "
            "POST reaches the API."
        ),
        visible=True,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="tool_call_not_found",
        http_status=404,
        title="No pending card with that id",
        meaning=(
            "The results endpoint has no pending card with that toolCallId for "
            "this call."
        ),
        causes=(
            "The card was already answered; duplicate results are refused.",
            "The 110-second hold expired before the result arrived.",
            "The toolCallId is mistyped or comes from another call.",
        ),
        fix=(
            "Use the toolCallId of the latest card event on this call's stream and "
            "answer within 110 seconds. An answered or expired card cannot be "
            "answered again: wait for the agent to show a new card."
        ),
        visible=True,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    # --- The CLI's own codes for HTTP answers without a known code ---------------
    ErrorInfo(
        code="rate_limited",
        http_status=429,
        title="Rate limited",
        meaning=(
            "The API, or a proxy in front of it, answered 429 and asked the client "
            "to slow down."
        ),
        causes=(
            "Too many requests in a short time, e.g. scripted loops or repeated "
            "diagnose runs.",
            "A proxy, CDN or firewall in front of the API applies its own limits.",
        ),
        fix=(
            "The CLI honours the Retry-After header and waits that long before "
            "sending again; if it keeps happening, lower the request rate, "
            "especially of mints, which also create real Retell calls."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="server_error",
        http_status=500,
        title="Server or upstream error",
        meaning=(
            "The API or a proxy in front of it answered with an unexpected 5xx "
            "status or with a body that is not a JSON error, such as an HTML 502 "
            "page."
        ),
        causes=(
            "A proxy, load balancer or tunnel in front of the API could not reach "
            "it and answered with its own error page.",
            "The API is down, restarting or failing on this request.",
            "On the mint, Retell failed upstream (a 502 without a known code).",
            "In local development, the tunnel points at an API that is not running "
            "on port 3001.",
        ),
        fix=(
            "Retry after a short wait. If it persists, check the proxy or tunnel in "
            "front of the API (locally: that the API on port 3001 is up), and report "
            "it to Powsoo with the x-request-id of the failing response."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    # --- The CLI's own client-side codes (network, browser and page checks) ------
    ErrorInfo(
        code="api_unreachable",
        http_status=None,
        title="API unreachable",
        meaning=(
            "The CLI got no HTTP answer at all: DNS lookup, connection, TLS "
            "handshake or the request timed out."
        ),
        causes=(
            "The base URL is wrong or mistyped, so DNS fails or points elsewhere.",
            "In local development, the API on port 3001 or its tunnel is not running.",
            "A firewall, VPN or corporate proxy blocks or intercepts the "
            "connection (TLS errors).",
            "The network is down or too slow, so the request timed out.",
        ),
        fix=(
            "Check the base URL (https://api.powsoo.com for production, "
            "https://api-staging.powsoo.com for staging, your tunnel URL locally), "
            "that it resolves and accepts HTTPS from this machine, and any proxy or "
            "firewall between you and it."
        ),
        visible=False,
        exit_code=_EXIT_UNREACHABLE,
        documented=False,
    ),
    ErrorInfo(
        code="cors_blocked",
        http_status=None,
        title="Browser blocks the response (CORS)",
        meaning=(
            "A response lacks the CORS headers a browser needs for a widget on "
            "another origin, so the page sees a network error even where the "
            "server acted."
        ),
        causes=(
            "A response lacks Access-Control-Allow-Origin equal to the page origin; "
            "on the stream this makes EventSource close for good without retrying.",
            "The OPTIONS preflight of the mint or results POST is not answered 2xx, "
            "or its Access-Control-Allow-Headers does not list content-type (and "
            "x-powsoo-session-token for results).",
            "The 204 of the results POST or a 4xx error lacks "
            "Access-Control-Allow-Origin.",
            "A proxy or CDN in front of the API strips these headers or answers "
            "OPTIONS itself.",
        ),
        fix=(
            "Every response of every endpoint (the 204 and 4xx errors included) "
            "must carry Access-Control-Allow-Origin echoing the page origin; "
            "preflights must answer 2xx with Access-Control-Allow-Headers: "
            "content-type, x-powsoo-session-token; and Access-Control-Expose-Headers "
            "should list x-request-id. If you run a proxy in front of the API, make "
            "it pass these through; otherwise report it to Powsoo."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="stream_unavailable",
        http_status=None,
        title="Event stream not working",
        meaning=(
            "The call's event stream opened but did not behave like a live "
            "text/event-stream: no ready event, the wrong content type, or silence "
            "past the heartbeat window."
        ),
        causes=(
            "A proxy in front of the API buffers the response or cuts long-lived "
            "connections.",
            "The answer was not text/event-stream, e.g. an HTML page from a proxy.",
            "No heartbeat arrived for more than 45 seconds (assumed 15-second "
            "interval), so the stream is dead.",
            "Another subscriber attached to the same call and took the stream over "
            "(assumed: one stream per call).",
        ),
        fix=(
            "Turn off response buffering and short idle timeouts for "
            "/v1/sessions/{callId}/stream on any proxy in front of the API (nginx: "
            "proxy_buffering off). Then mint a fresh call and reopen the stream; "
            "cards pushed before a reconnect are not sent again."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="page_embed_missing",
        http_status=None,
        title="Widget embed missing from page",
        meaning=(
            "The page does not contain a complete widget embed: a <powsoo-voice> "
            "element with a widget-id plus the module script from "
            "https://w.powsoo.com/widget.js."
        ),
        causes=(
            "The embed snippet was never added to this page or not deployed yet.",
            "The <powsoo-voice> element lacks widget-id or carries another widget's "
            "id.",
            "The script loading https://w.powsoo.com/widget.js is missing, or is "
            'not loaded as an ES module (type="module").',
            "The page builds its markup with JavaScript, so the embed is not in the "
            "HTML the server sends.",
        ),
        fix=(
            'Add <powsoo-voice widget-id="wid_…"></powsoo-voice> with the id from '
            "the dashboard, and load https://w.powsoo.com/widget.js as a module "
            "script (the dashboard's embed snippet does both)."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="csp_blocks_widget",
        http_status=None,
        title="Content-Security-Policy blocks the widget",
        meaning=(
            "The page's Content-Security-Policy does not allow the widget bundle to "
            "load or the widget to reach the Powsoo API."
        ),
        causes=(
            "script-src does not allow https://w.powsoo.com.",
            "connect-src does not allow the API origin (https://api.powsoo.com), "
            "which the widget calls for config, mint, stream and results.",
            "script-src forbids inline scripts, which blocks the inline loader of "
            "the embed snippet.",
        ),
        fix=(
            "Add https://w.powsoo.com to script-src and https://api.powsoo.com (or "
            "the staging host) to connect-src. For the inline loader, give it a "
            'nonce or hash, or load the bundle with <script type="module" '
            'src="https://w.powsoo.com/widget.js">. Check the browser console for '
            "further violations, e.g. from Retell's call hosts."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="microphone_blocked",
        http_status=None,
        title="Microphone not available",
        meaning=(
            "The browser will not give the widget the microphone, so a voice call "
            "cannot start."
        ),
        causes=(
            "The page's Permissions-Policy header disallows the microphone, e.g. "
            "microphone=().",
            'The widget runs inside an iframe without allow="microphone".',
            "The user or the browser denied microphone access for the site.",
        ),
        fix=(
            "Allow the microphone for the page (Permissions-Policy: "
            'microphone=(self)), add allow="microphone" to any iframe that hosts '
            "the widget, and have the user re-allow the microphone in the "
            "browser's site settings."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
    ErrorInfo(
        code="insecure_context",
        http_status=None,
        title="Page not served over HTTPS",
        meaning=(
            "The page is not a secure context, so browsers withhold the microphone "
            "and the widget cannot start a call."
        ),
        causes=(
            "The page is served over plain http from a host other than localhost "
            "or 127.0.0.1.",
            "The page hosting the widget is framed by a page served over plain "
            "http, which makes the frame insecure too.",
        ),
        fix=(
            "Serve the page, and any page framing it, over https (bare and wildcard "
            "allowlist entries are assumed to require https anyway). For local "
            "testing use http://localhost or http://127.0.0.1, which browsers treat "
            "as secure and the allowlist always accepts."
        ),
        visible=False,
        exit_code=_EXIT_API_ERROR,
        documented=False,
    ),
)

CATALOGUE: dict[str, ErrorInfo] = {entry.code: entry for entry in _ENTRIES}
"""Every known error code, keyed by code, in reading order."""

HIDDEN_SUB_REASONS: tuple[str, ...] = (
    "origin_not_allowed",
    "widget_not_found",
    "voice_platform_not_connected",
    "retell_agent_not_configured",
    "decryption_failed",
)
"""Log-only reasons behind ``widget_unavailable``, most likely first."""

_BY_STATUS: dict[int, str] = {
    400: "invalid_request",
    401: "invalid_session_token",
    402: "plan_limit_exceeded",
    404: "widget_unavailable",
    429: "rate_limited",
    504: "widget_timeout",
}


def lookup(code: str) -> ErrorInfo | None:
    """Return the entry for ``code`` (case and surrounding space ignored)."""
    return CATALOGUE.get(code.strip().lower())


def describe_status(status: int) -> ErrorInfo | None:
    """Return the best entry for an HTTP error status that came without a known code.

    404 maps to ``widget_unavailable``, the catch-all 404 of the config and mint
    endpoints; a caller that knows it hit a per-call endpoint (stream, results)
    should prefer ``session_not_found``. 504 maps to ``widget_timeout``; any other
    5xx, including a 502 without a code, maps to ``server_error``. Statuses with no
    sensible entry (success codes, other 4xx) give ``None``.
    """
    code = _BY_STATUS.get(status)
    if code is None and 500 <= status <= 599:
        code = "server_error"
    return None if code is None else CATALOGUE[code]
