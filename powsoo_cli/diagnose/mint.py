"""mint.origin, mint.localhost and token.sanity: starting a call.

A mint resolves the widget's stored credentials and asks Retell for a web
call (§5.2), so it reaches the widget-side failures a config fetch cannot
see: no platform, no agent, an undecryptable key (all hidden behind a 404),
a refused Retell key (502) and the plan cap (402). Outside the sandbox each
mint creates a real web call, so diagnose mints at most once: from the page
origin when it is allowed, otherwise from localhost to see what would fail
once the origin is fixed.
"""

from __future__ import annotations

import email.utils
from datetime import datetime, timezone
from typing import Any

from powsoo_cli.diagnose.base import (
    LOCALHOST,
    Answer,
    CheckResult,
    Run,
    answer_data,
    ask,
    result,
    skipped,
)

ORIGIN_ID = "mint.origin"
ORIGIN_TITLE = "Mint from the page origin"
LOCAL_ID = "mint.localhost"
LOCAL_TITLE = "Mint from http://localhost"
TOKEN_ID = "token.sanity"
TOKEN_TITLE = "Session token"
# Beyond this, timestamps from the server look shifted on this machine.
SKEW_WARN_SECONDS = 30.0
DATE_RESOLUTION_SECONDS = 2.0
REAL_CALL_NOTE = "this created a real web call upstream"


def _mint(run: Run, check: str, title: str, origin: str) -> CheckResult:
    answer = ask(lambda: run.client.mint_voice_token(run.target.widget, origin))
    run.answers[check] = answer
    real = "" if run.options.sandbox else f"; {REAL_CALL_NOTE}"
    if answer.ok:
        token = answer.body
        if check == ORIGIN_ID:
            run.token = token
        return result(
            check,
            title,
            "pass",
            f"HTTP 200: call {token.callId} on {token.platform}{real}",
            answers=(answer,),
            callId=token.callId,
            **answer_data(answer),
        )
    text = answer.describe()
    if answer.message and answer.status is not None:
        text += f": {answer.message}"
    return result(check, title, "fail", text, answers=(answer,), **answer_data(answer))


def check_origin(run: Run) -> CheckResult:
    if run.options.no_mint:
        return skipped(ORIGIN_ID, ORIGIN_TITLE, "--no-mint")
    if run.origin is None or not run.passed("config.origin"):
        return skipped(
            ORIGIN_ID,
            ORIGIN_TITLE,
            "the origin is refused already; a mint would be refused the same way",
        )
    return _mint(run, ORIGIN_ID, ORIGIN_TITLE, run.origin)


def check_localhost(run: Run) -> CheckResult:
    if run.options.no_mint:
        return skipped(LOCAL_ID, LOCAL_TITLE, "--no-mint")
    if not run.passed("config.localhost"):
        return skipped(LOCAL_ID, LOCAL_TITLE, "the widget is not found")
    if run.passed("config.origin"):
        return skipped(
            LOCAL_ID, LOCAL_TITLE, "not needed: the page origin may mint itself"
        )
    return _mint(run, LOCAL_ID, LOCAL_TITLE, LOCALHOST)


def _server_time(answer: Answer) -> datetime | None:
    value = answer.headers.get("date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def check_token(run: Run) -> CheckResult:
    answer = run.answers.get(ORIGIN_ID)
    token = run.token
    if token is None or answer is None:
        return skipped(TOKEN_ID, TOKEN_TITLE, "no token was minted")

    now = datetime.now(timezone.utc)
    expires = token.expiresAt
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    server_now = _server_time(answer)
    skew = (server_now - now).total_seconds() if server_now else 0.0

    problems: list[str] = []
    warnings: list[str] = []
    facts: list[str] = []
    if token.platform != "retell":
        warnings.append(
            f"platform {token.platform!r}: only Retell calls use the stream and "
            "results endpoints"
        )
    if not token.sessionToken.startswith("sst_"):
        warnings.append("the session token lacks the documented sst_ prefix")

    left_local = (expires - now).total_seconds()
    left_server = (expires - server_now).total_seconds() if server_now else left_local
    if left_server <= 0:
        problems.append("the token expired before it arrived")
    elif left_local <= 0:
        warnings.append(
            "the token looks expired by this machine's clock only; fix the clock"
        )
    else:
        facts.append(f"{token.platform} call, expires in {left_server / 60:.0f} min")
    if server_now is None:
        facts.append("no Date header to compare clocks")
    elif abs(skew) > SKEW_WARN_SECONDS:
        warnings.append(f"the server's clock is {skew:+.0f} s from this machine's")
    elif abs(skew) < DATE_RESOLUTION_SECONDS:
        # Date is whole seconds, truncated: up to a second off by itself.
        facts.append("clocks agree within the Date header's resolution")
    else:
        facts.append(f"clock skew {skew:+.0f} s")

    data: dict[str, Any] = {"skewSeconds": round(skew, 1)}
    detail = "; ".join(problems + warnings + facts)
    if problems:
        return result(
            TOKEN_ID,
            TOKEN_TITLE,
            "fail",
            detail,
            fix="Check the API server's clock and the session token lifetime.",
            cause="invalid_session_token",
            **data,
        )
    return result(TOKEN_ID, TOKEN_TITLE, "warn" if warnings else "pass", detail, **data)
