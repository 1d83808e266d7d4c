"""config.localhost and config.origin: the embed config, from two origins.

The config endpoint checks only that the widget exists and that the Origin
passes the allowlist (§5.1), and ``http://localhost`` always passes (§9).
So a 404 from localhost means the widget is unknown, and a 404 from the
page origin alone means the origin is not on the list.
"""

from __future__ import annotations

from typing import Any

from powsoo_cli.diagnose.base import (
    LOCALHOST,
    Answer,
    CheckResult,
    Run,
    answer_data,
    ask,
    config_members,
    result,
    skipped,
)

LOCAL_ID = "config.localhost"
LOCAL_TITLE = "Config from http://localhost"
ORIGIN_ID = "config.origin"
ORIGIN_TITLE = "Config from the page origin"


def describe_members(members: dict[str, Any] | None) -> str:
    """What the config says about platform and agent, when it says anything."""
    if not members:
        return ""
    parts = []
    if "platform" in members:
        parts.append(f"platform {members['platform'] or 'none'}")
    if "agent" in members:
        parts.append("agent set" if members["agent"] else "no agent")
    return f" ({', '.join(parts)})" if parts else ""


def _failed(
    check: str, title: str, answer: Answer, detail: str, **data: Any
) -> CheckResult:
    return result(
        check,
        title,
        "fail",
        detail,
        answers=(answer,),
        **answer_data(answer),
        **data,
    )


def _other_failure(check: str, title: str, answer: Answer) -> CheckResult:
    """Anything but 200 or 404: the API itself is in trouble."""
    if answer.status == 429:
        cause = "rate_limited"
    elif answer.failure in (None, "bad_response"):
        cause = "server_error"
    else:
        cause = "api_unreachable"
    text = answer.describe()
    if answer.message and answer.status is not None:
        text += f": {answer.message}"
    return _failed(check, title, answer, text, cause=cause)


def check_localhost(run: Run) -> CheckResult:
    answer = run.answers.get(LOCAL_ID)
    if answer is None or not run.passed("api.reachable"):
        return skipped(LOCAL_ID, LOCAL_TITLE, "the API is unreachable")

    members = config_members(answer)
    if answer.ok:
        return result(
            LOCAL_ID,
            LOCAL_TITLE,
            "pass",
            f"HTTP 200: the widget exists{describe_members(members)}",
            answers=(answer,),
            members=members,
            **answer_data(answer),
        )
    if answer.status == 404:
        return _failed(
            LOCAL_ID,
            LOCAL_TITLE,
            answer,
            f"{answer.describe()} even from {LOCALHOST}, which every widget "
            "allows: this API does not know the widget",
        )
    return _other_failure(LOCAL_ID, LOCAL_TITLE, answer)


def check_origin(run: Run) -> CheckResult:
    if not run.passed("api.reachable"):
        return skipped(ORIGIN_ID, ORIGIN_TITLE, "the API is unreachable")
    if run.origin is None:
        return skipped(ORIGIN_ID, ORIGIN_TITLE, "no origin (the page was not read)")

    origin = run.origin
    answer = ask(lambda: run.client.get_embed_config(run.target.widget, origin))
    run.answers[ORIGIN_ID] = answer
    members = config_members(answer)
    if answer.ok:
        return result(
            ORIGIN_ID,
            ORIGIN_TITLE,
            "pass",
            f"HTTP 200: {origin} passes the allowlist{describe_members(members)}",
            answers=(answer,),
            members=members,
            **answer_data(answer),
        )
    if answer.status == 404:
        local = run.answers.get(LOCAL_ID)
        if local is not None and local.ok:
            why = f"while {LOCALHOST} gets the config: {origin} is not on the list"
        else:
            why = "as from localhost: the widget is not found at all"
        return _failed(
            ORIGIN_ID, ORIGIN_TITLE, answer, f"{answer.describe()} for {origin}, {why}"
        )
    return _other_failure(ORIGIN_ID, ORIGIN_TITLE, answer)
