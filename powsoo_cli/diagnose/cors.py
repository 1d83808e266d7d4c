"""cors.*: would a browser on the page origin let the widget read the answers?

What a current Chromium needs (§13 #35): the mint and results POSTs are
preflighted, and the preflight must answer 2xx with Access-Control-Allow-Origin
equal to the page origin (``*`` will do, the widget sends no credentials) and
Access-Control-Allow-Headers covering every requested header. POST is a
CORS-safelisted method, so Access-Control-Allow-Methods need not list it.
Every real answer, errors and the 204 included, needs the same
Access-Control-Allow-Origin; exposing x-request-id is only nice to have.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from powsoo_cli.diagnose.base import Answer, CheckResult, Run, result, skipped
from powsoo_cli.errors import PowsooError

PREFLIGHT_MINT_ID = "cors.preflight.mint"
PREFLIGHT_MINT_TITLE = "CORS preflight: mint"
PREFLIGHT_RESULTS_ID = "cors.preflight.results"
PREFLIGHT_RESULTS_TITLE = "CORS preflight: results"
RESPONSES_ID = "cors.responses"
RESPONSES_TITLE = "CORS headers on answers"
# Any call id does for a preflight: it is answered before routing to a call.
PROBE_CALL = "call_powsoo_diagnose_probe"
# The answers a browser reads, by the name reports use for them.
READ_ANSWERS = {
    "config.origin": "config",
    "mint.origin": "mint",
    "stream": "stream",
    "results": "results",
}


def _tokens(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def origin_allowed(headers: Mapping[str, str], origin: str) -> str | None:
    """Why a browser would refuse this answer, or None when it would not."""
    allowed = headers.get("access-control-allow-origin")
    if allowed is None:
        return "no Access-Control-Allow-Origin"
    if allowed.strip() not in (origin, "*"):
        return f"Access-Control-Allow-Origin is {allowed!r}, not {origin!r}"
    return None


def _preflight(
    run: Run, check: str, title: str, path: str, requested: list[str]
) -> CheckResult:
    if not run.passed("api.reachable"):
        return skipped(check, title, "the API is unreachable")
    if run.origin is None:
        return skipped(check, title, "no origin")

    origin = run.origin
    started = time.perf_counter()
    try:
        response = run.client.preflight(path, origin, "POST", requested)
    except PowsooError as exc:
        return result(check, title, "fail", exc.message, cause="cors_blocked")
    answer = Answer(
        response.status_code,
        request_id=response.headers.get("x-request-id")
        or response.request.headers.get("x-request-id"),
        elapsed=time.perf_counter() - started,
        headers=response.headers,
    )
    problems = []
    if not 200 <= response.status_code < 300:
        problems.append(f"the preflight answered HTTP {response.status_code}")
    refusal = origin_allowed(response.headers, origin)
    if refusal:
        problems.append(refusal)
    allowed_headers = _tokens(response.headers.get("access-control-allow-headers"))
    missing = [h for h in requested if h not in allowed_headers]
    if missing and "*" not in allowed_headers:
        problems.append("Access-Control-Allow-Headers lacks " + ", ".join(missing))

    asked = f"OPTIONS {path} for POST with {', '.join(requested)}"
    if problems:
        return result(
            check,
            title,
            "fail",
            f"{asked}: " + "; ".join(problems),
            fix=(
                f"Answer the preflight with 2xx, Access-Control-Allow-Origin: "
                f"{origin} and Access-Control-Allow-Headers: {', '.join(requested)} "
                "(check any proxy or CDN in front of the API)."
            ),
            answers=(answer,),
            cause="cors_blocked",
        )
    return result(
        check,
        title,
        "pass",
        f"{asked}: HTTP {response.status_code}, origin and headers allowed",
        answers=(answer,),
    )


def check_preflight_mint(run: Run) -> CheckResult:
    return _preflight(
        run,
        PREFLIGHT_MINT_ID,
        PREFLIGHT_MINT_TITLE,
        "/v1/voice-tokens",
        ["content-type"],
    )


def check_preflight_results(run: Run) -> CheckResult:
    return _preflight(
        run,
        PREFLIGHT_RESULTS_ID,
        PREFLIGHT_RESULTS_TITLE,
        f"/v1/sessions/{PROBE_CALL}/results",
        ["content-type", "x-powsoo-session-token"],
    )


def check_responses(run: Run) -> CheckResult:
    if run.origin is None:
        return skipped(RESPONSES_ID, RESPONSES_TITLE, "no origin")
    seen = {
        name: run.answers[key]
        for key, name in READ_ANSWERS.items()
        if key in run.answers and run.answers[key].reached
    }
    if not seen:
        return skipped(RESPONSES_ID, RESPONSES_TITLE, "no answer to the page origin")

    refused = []
    unexposed = []
    for name, answer in seen.items():
        why = origin_allowed(answer.headers, run.origin)
        if why:
            status = f"HTTP {answer.status}" if answer.status else "answer"
            refused.append(f"{name} ({status}): {why}")
        exposed = _tokens(answer.headers.get("access-control-expose-headers"))
        if "x-request-id" not in exposed and "*" not in exposed:
            unexposed.append(name)

    names = ", ".join(seen)
    if refused:
        return result(
            RESPONSES_ID,
            RESPONSES_TITLE,
            "fail",
            "a browser would block " + "; ".join(refused),
            fix=(
                f"Send Access-Control-Allow-Origin: {run.origin} on every answer of "
                "every endpoint, errors and the 204 included (a proxy in front of "
                "the API may strip it)."
            ),
            cause="cors_blocked",
        )
    if unexposed:
        return result(
            RESPONSES_ID,
            RESPONSES_TITLE,
            "warn",
            f"{names} allow {run.origin}, but x-request-id is not exposed on "
            f"{', '.join(unexposed)}: the widget cannot report request ids",
            fix="List x-request-id in Access-Control-Expose-Headers.",
        )
    return result(
        RESPONSES_ID,
        RESPONSES_TITLE,
        "pass",
        f"{names} allow {run.origin} and expose x-request-id",
    )
