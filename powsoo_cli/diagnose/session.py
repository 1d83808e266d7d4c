"""results.token: the results endpoint accepts the call's session token.

The probe posts a result for a tool call that does not exist. An endpoint
that accepts the token answers 404 (no such pending tool call); one that
refuses it answers 401 before it looks for the tool call (§5.4). Nothing is
released, so the probe is harmless on a live call.
"""

from __future__ import annotations

from powsoo_cli.diagnose.base import CheckResult, Run, answer_data, ask, result, skipped
from powsoo_cli.models import CardResult, ResultRequest

ID = "results.token"
TITLE = "Results endpoint"
PROBE_TOOL_CALL = "tc_powsoo_diagnose_probe"


def check(run: Run) -> CheckResult:
    token = run.token
    if token is None:
        return skipped(ID, TITLE, "no token was minted")

    probe = ResultRequest(
        toolCallId=PROBE_TOOL_CALL,
        result=CardResult(status="skipped", action="skip"),
    )
    answer = ask(
        lambda: run.client.post_result(
            token.callId, token.sessionToken, probe, origin=run.origin
        )
    )
    run.answers["results"] = answer
    facts = answer_data(answer)
    if answer.status == 404:
        return result(
            ID,
            TITLE,
            "pass",
            f"{answer.describe()} for a made-up tool call: the token is accepted",
            answers=(answer,),
            **facts,
        )
    if answer.status == 401:
        return result(
            ID,
            TITLE,
            "fail",
            f"{answer.describe()}: the results endpoint refuses the session "
            "token that the mint just issued, so card answers would be lost",
            answers=(answer,),
            cause="invalid_session_token",
            **facts,
        )
    if answer.ok:
        return result(
            ID,
            TITLE,
            "warn",
            f"HTTP {answer.status} for a tool call that does not exist; expected 404",
            answers=(answer,),
            **facts,
        )
    text = answer.describe()
    if answer.message and answer.status is not None:
        text += f": {answer.message}"
    return result(
        ID, TITLE, "fail", text, answers=(answer,), cause="server_error", **facts
    )
