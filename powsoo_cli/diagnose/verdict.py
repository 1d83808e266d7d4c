"""From check results to one verdict and its ranked causes.

Inference rules, in the order they are applied:

1. api.reachable failed: ``api_unreachable``, and nothing API-side is judged.
2. Config from ``http://localhost`` (always allowed, §9) answered 404: the
   config checks only existence and origin, so ``widget_not_found``.
   Another error there: ``server_error`` (``rate_limited`` for 429).
3. Localhost gets the config but the page origin gets 404:
   ``origin_not_allowed``, with origin.rules' explanation and exact entry.
4. The mint (from the page origin, or from localhost when the origin is
   refused) tells the widget-side cause: 402 ``plan_limit_exceeded``;
   502 ``retell_auth_failed``; 404 after a passing config is one of the
   hidden sub-reasons (§4.3). The config body, where the API sends these
   members (our assumption, §5.1), ranks them: ``platform: null`` makes it
   ``voice_platform_not_connected``, ``agent: null``
   ``retell_agent_not_configured``, both present leaves
   ``decryption_failed``; without those members the three stay
   ``possible``, listed in catalogue order. With no mint (``--no-mint``)
   a null platform or agent in the config is still reported as likely.
5. Each other failing check names the cause it points to: token,
   stream and results (``invalid_session_token``, ``stream_unavailable``),
   CORS (``cors_blocked``), and the page (``page_unreachable``,
   ``page_embed_missing``, ``csp_blocks_widget``, ``microphone_blocked``,
   ``insecure_context``), in that order.

Causes are ranked in the order found, so the API's root causes come before
what they would hide. Each carries a certainty: ``confirmed`` (the evidence
settles it), ``likely`` (it rests on an assumption, such as the config's
shape) or ``possible`` (one of several the evidence cannot separate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from powsoo_cli.catalogue import HIDDEN_SUB_REASONS, lookup
from powsoo_cli.diagnose.base import CheckResult

Certainty = Literal["confirmed", "likely", "possible"]

HEALTHY = "healthy"
# The hidden reasons left once the widget exists and the origin passes.
HIDDEN_WIDGET_SIDE = tuple(
    code
    for code in HIDDEN_SUB_REASONS
    if code not in ("widget_not_found", "origin_not_allowed")
)
# Checks whose failure names its own cause, in the order causes rank.
SELF_EXPLAINED = (
    "token.sanity",
    "stream.events",
    "results.token",
    "cors.preflight.mint",
    "cors.preflight.results",
    "cors.responses",
    "page.fetch",
    "page.embed",
    "page.csp",
    "page.permissions",
    "page.secure_context",
)
_TITLES = {
    "page_unreachable": "Page could not be loaded",
    "check_error": "A check could not run",
}


@dataclass
class Cause:
    code: str
    certainty: Certainty
    evidence: list[str]
    fix: str

    @property
    def title(self) -> str:
        info = lookup(self.code)
        if info is not None:
            return info.title
        return _TITLES.get(self.code, self.code.replace("_", " "))


@dataclass
class Diagnosis:
    widget: str
    origin: str | None
    page: str | None
    api_base_url: str
    sandbox: bool
    checks: list[CheckResult]
    causes: list[Cause]
    duration: float

    @property
    def verdict(self) -> str:
        return self.causes[0].code if self.causes else HEALTHY

    @property
    def healthy(self) -> bool:
        return not self.causes

    @property
    def ambiguous(self) -> bool:
        """The top cause is one of several the evidence cannot separate."""
        return len(self.alternatives) > 1

    @property
    def alternatives(self) -> list[Cause]:
        """The leading causes of equal standing (one unless ambiguous)."""
        if not self.causes:
            return []
        if self.causes[0].certainty != "possible":
            return self.causes[:1]
        group = []
        for cause in self.causes:
            if cause.certainty != "possible":
                break
            group.append(cause)
        return group

    @property
    def unreachable(self) -> bool:
        return self.verdict == "api_unreachable"

    @property
    def exit_code(self) -> int:
        from powsoo_cli.exit_codes import ExitCode

        if self.unreachable:
            return ExitCode.UNREACHABLE
        return ExitCode.SUCCESS if self.healthy else ExitCode.PROBLEM

    @property
    def web_call_created(self) -> bool:
        """A mint succeeded against something other than the sandbox."""
        return not self.sandbox and any(
            c.id in ("mint.origin", "mint.localhost") and c.status == "pass"
            for c in self.checks
        )

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)


class _Found:
    """Causes in rank order; a cause found twice gathers all its evidence."""

    def __init__(self) -> None:
        self.causes: dict[str, Cause] = {}
        self.fixes: dict[str, list[str]] = {}

    def add(
        self,
        code: str,
        certainty: Certainty,
        evidence: list[str],
        fix: str | None = None,
    ) -> None:
        cause = self.causes.get(code)
        if cause is None:
            cause = self.causes[code] = Cause(code, certainty, [], "")
            self.fixes[code] = []
        cause.evidence += [e for e in evidence if e and e not in cause.evidence]
        if fix and fix not in self.fixes[code]:
            self.fixes[code].append(fix)

    def ranked(self) -> list[Cause]:
        for code, cause in self.causes.items():
            info = lookup(code)
            cause.fix = " ".join(self.fixes[code]) or (info.fix if info else "")
        return list(self.causes.values())


def rank_hidden(members: Mapping[str, Any] | None) -> list[tuple[str, Certainty, str]]:
    """The widget-side 404 sub-reasons the config body leaves standing."""
    members = members or {}
    ruled_out: list[str] = []
    if "platform" in members:
        if not members["platform"]:
            return [
                (
                    "voice_platform_not_connected",
                    "likely",
                    "the config says platform: null",
                )
            ]
        ruled_out.append("voice_platform_not_connected")
    if "agent" in members:
        if not members["agent"]:
            return [
                (
                    "retell_agent_not_configured",
                    "likely",
                    "the config says agent: null",
                )
            ]
        ruled_out.append("retell_agent_not_configured")

    left = [code for code in HIDDEN_WIDGET_SIDE if code not in ruled_out]
    if len(left) == 1:
        return [
            (
                left[0],
                "likely",
                "the config shows a platform and an agent, which leaves "
                f"{left[0]} as the hidden reason",
            )
        ]
    why = (
        "the API hides which one (§4.3); the server log line for the mint's "
        "request id names it"
    )
    return [(code, "possible", why) for code in left]


def _mint_failure(check: CheckResult, members: Any, found: _Found) -> None:
    http = check.data.get("http")
    code = check.data.get("code")
    evidence = [f"{check.title}: {check.detail}"]
    if http == 402:
        found.add("plan_limit_exceeded", "confirmed", evidence)
    elif http == 502:
        certainty: Certainty = "confirmed" if code == "retell_auth_failed" else "likely"
        found.add("retell_auth_failed", certainty, evidence)
    elif http == 404:
        evidence.append(
            "the config passed for the same origin, so the origin is fine and the "
            "hidden reason is on the widget's side"
        )
        for reason, certainty, why in rank_hidden(members):
            found.add(reason, certainty, [*evidence, why])
    elif http == 429:
        found.add("rate_limited", "confirmed", evidence)
    elif http == 400:
        found.add("invalid_request", "confirmed", evidence)
    else:
        found.add("server_error", "confirmed", evidence)


def _api_side(results: Mapping[str, CheckResult], found: _Found) -> None:
    local = results.get("config.localhost")
    if local is None or local.status == "skipped":
        return
    at_origin = results.get("config.origin")
    if local.status == "fail":
        if local.data.get("http") == 404:
            found.add(
                "widget_not_found", "confirmed", [f"{local.title}: {local.detail}"]
            )
        else:
            found.add(
                local.data.get("cause", "server_error"),
                "confirmed",
                [f"{local.title}: {local.detail}"],
            )
        return

    members = local.data.get("members")
    if at_origin is not None and at_origin.status == "fail":
        evidence = [f"{at_origin.title}: {at_origin.detail}"]
        if at_origin.data.get("http") == 404:
            rules = results.get("origin.rules")
            fix = None
            if rules is not None and rules.status == "fail":
                evidence.append(f"{rules.title}: {rules.detail}")
                fix = rules.fix
            found.add("origin_not_allowed", "confirmed", evidence, fix)
        else:
            found.add(
                at_origin.data.get("cause", "server_error"), "confirmed", evidence
            )
            return
    elif at_origin is not None and at_origin.status == "pass":
        members = at_origin.data.get("members") or members

    minted = [
        results[i]
        for i in ("mint.origin", "mint.localhost")
        if i in results and results[i].status in ("pass", "fail")
    ]
    if minted:
        if minted[0].status == "fail":
            _mint_failure(minted[0], members, found)
        return

    # No mint ran: the config body alone may still point at the cause.
    members = members or {}
    unconfirmed = "(no mint was made to confirm it)"
    if "platform" in members and not members["platform"]:
        found.add(
            "voice_platform_not_connected",
            "likely",
            [f"the config says platform: null {unconfirmed}"],
        )
    elif "agent" in members and not members["agent"]:
        found.add(
            "retell_agent_not_configured",
            "likely",
            [f"the config says agent: null {unconfirmed}"],
        )


def decide(results: Mapping[str, CheckResult]) -> list[Cause]:
    """The causes the results point to, most likely first; empty when healthy."""
    found = _Found()
    reach = results.get("api.reachable")
    if reach is not None and reach.status == "fail":
        found.add("api_unreachable", "confirmed", [f"{reach.title}: {reach.detail}"])
    else:
        _api_side(results, found)

    for check_id in SELF_EXPLAINED:
        check = results.get(check_id)
        if check is not None and check.status == "fail" and "cause" in check.data:
            found.add(
                check.data["cause"],
                "confirmed",
                [f"{check.title}: {check.detail}"],
                check.fix,
            )
    for check in results.values():
        if check.status == "fail" and check.data.get("internal"):
            found.add(
                "check_error",
                "confirmed",
                [f"{check.title}: {check.detail}"],
                "Run again with --debug and report the output as a bug in powsoo.",
            )
    return found.ranked()
