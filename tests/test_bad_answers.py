"""Every command that talks to the API, against answers no good API gives.

Each row of `FAILURES` is one fault of the server or the network, played by
`tests.badserver.BadServer`, with what each command must make of it: one
``powsoo: error:`` line (and at most a hint), the right exit code, nothing on
stdout and never a traceback. `ACCEPTED` lists odd answers that are still
success, and the later sections cover extra members, the event stream and
diagnose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from powsoo_cli import session_store
from powsoo_cli.exit_codes import ExitCode
from tests.badserver import (
    CLOSE,
    HOLD,
    RESET,
    Answer,
    BadServer,
    SeenRequest,
    Send,
    chunk,
    html_page,
    json_response,
    redirect,
    response,
    sse_event,
    stream_head,
)

ORIGIN = "https://shop.example"
TOKEN = "sst_" + "q" * 32
CALL = "call_bad_answers"
RESULT_TEXT = json.dumps({"status": "confirmed", "action": "ok"})
# Long enough for a loopback answer, short enough for a quick test.
PATIENCE = "5"
# The --read-timeout (and send-card --wait) of the timeout cases.
SHORT = "0.5"

# Each command with arguments that pass every local check, so that what the
# server does is the only thing under test. mint-token runs with --env sandbox
# so that no "real web call" warning precedes the error line.
COMMANDS: dict[str, tuple[str, ...]] = {
    "get-config": ("get-config", "wid_demo", "--origin", ORIGIN),
    "mint-token": ("mint-token", "wid_demo", "--origin", ORIGIN, "--no-save"),
    "post-result": ("post-result", CALL, "-t", "tc_1", "-a", "ok", "--token", TOKEN),
    "send-card": ("send-card", CALL, "--title", "Check", "--action", "OK=ok"),
}
POSTS = ("mint-token", "post-result", "send-card")


def run_against(
    run_cli: Any,
    url: str,
    command: str,
    timeout: str = PATIENCE,
    *,
    json_flag: bool = False,
) -> Any:
    global_options = ["--base-url", url, "--read-timeout", timeout]
    if command == "mint-token":
        global_options += ["--env", "sandbox"]
    extra = ["--wait", timeout] if command == "send-card" else []
    if json_flag:
        extra.append("--json")
    return run_cli(*global_options, *COMMANDS[command], *extra)


def assert_one_clear_error(
    result: Any, exit_code: int, fragment: str, *, data_first: bool = False
) -> None:
    """One ``powsoo: error:`` line holding ``fragment``, an optional hint, no
    traceback, nothing on stdout unless ``data_first``; warnings may come
    before."""
    assert result.exit_code == exit_code, result.stderr
    assert data_first or result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [
        line
        for line in result.stderr.splitlines()
        if not line.startswith("powsoo: warning: ")
    ]
    assert lines, "nothing on stderr"
    assert lines[0].startswith("powsoo: error: "), result.stderr
    assert fragment in lines[0], result.stderr
    assert len(lines) <= 2, result.stderr
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), result.stderr


def loop(request: SeenRequest) -> bytes:
    return redirect(request.path)


ENVELOPE = {
    "ok": False,
    "error": {"code": "upstream_failed", "message": "it broke upstream"},
    "requestId": "req_envelope",
}
# Wrong for every model at once: each command names the member it needed.
WRONG_TYPES = {
    "widgetId": 7,
    "platform": 5,
    "accessToken": 1,
    "callId": "",
    "expiresAt": "never",
    "sessionToken": None,
    "result": 5,
}
UNREACHED = (ExitCode.UNREACHABLE, "the connection to 127.0.0.1 broke")


@dataclass(frozen=True)
class Failure:
    """A fault and, per command, the exit code and a fragment of the line."""

    name: str
    answer: Answer
    expect: dict[str, tuple[int, str]]
    timeout: str = PATIENCE


def same(exit_code: int, fragment: str, *commands: str) -> dict[str, tuple[int, str]]:
    """The same expectation for ``commands`` (default: every command)."""
    return {command: (exit_code, fragment) for command in commands or COMMANDS}


FAILURES = [
    Failure(
        "invalid JSON",
        response(200, '{"widgetId": "wid_demo",'),
        same(ExitCode.PROBLEM, "HTTP 200: the body is not JSON"),
    ),
    Failure(
        "an array instead of an object",
        json_response(200, [1, 2]),
        same(
            ExitCode.PROBLEM,
            "came with an array where a JSON object was expected",
            "get-config",
            "mint-token",
            "send-card",
        ),
    ),
    Failure(
        "members of the wrong type",
        json_response(200, WRONG_TYPES),
        {
            "get-config": (ExitCode.PROBLEM, "widgetId: Input should be a valid"),
            "mint-token": (ExitCode.PROBLEM, "platform: Input should be a valid"),
            "send-card": (ExitCode.PROBLEM, "result: Input should be a valid"),
        },
    ),
    Failure(
        "required members missing",
        json_response(200, {"unrelated": True}),
        {
            "mint-token": (ExitCode.PROBLEM, "accessToken: Field required"),
            "send-card": (ExitCode.PROBLEM, "result: Field required"),
        },
    ),
    Failure(
        "an error envelope on a 200",
        json_response(200, ENVELOPE),
        same(ExitCode.PROBLEM, "upstream_failed (HTTP 200): it broke upstream"),
    ),
    Failure(
        "an empty 200",
        response(200, ""),
        same(
            ExitCode.PROBLEM,
            "HTTP 200 came with an empty body",
            "get-config",
            "mint-token",
            "send-card",
        ),
    ),
    Failure(
        # A 204 never has a body (h11 leaves it unread), so JSON is missing.
        "a 204 with a body",
        response(204, '{"widgetId": "wid_demo"}'),
        same(
            ExitCode.PROBLEM,
            "HTTP 204 came with an empty body",
            "get-config",
            "mint-token",
            "send-card",
        ),
    ),
    Failure(
        "an HTML 502 page from a gateway",
        html_page(502, "502 Bad Gateway"),
        same(ExitCode.PROBLEM, "HTTP 502: the answer was an HTML page titled"),
    ),
    Failure(
        "an HTML 200 page from a captive portal",
        html_page(200, "Sign in to the network"),
        same(ExitCode.PROBLEM, "HTTP 200: the answer was an HTML page titled"),
    ),
    Failure(
        "a redirect loop",
        loop,
        {
            "get-config": (ExitCode.PROBLEM, "redirected too many times"),
            **same(ExitCode.PROBLEM, "HTTP 302: the API redirected to /v1/", *POSTS),
        },
    ),
    Failure(
        "no answer at all within the read timeout",
        HOLD,
        {
            **same(
                ExitCode.UNREACHABLE,
                "127.0.0.1 did not answer in time",
                "get-config",
                "mint-token",
                "post-result",
            ),
            # send-card waits as Retell does: its own message for its --wait.
            "send-card": (ExitCode.PROBLEM, f"no answer within --wait {SHORT} s"),
        },
        timeout=SHORT,
    ),
    Failure(
        "a body that stops arriving",
        [b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"widg', HOLD],
        {
            **same(
                ExitCode.UNREACHABLE,
                "127.0.0.1 did not answer in time",
                "get-config",
                "mint-token",
                "post-result",
            ),
            "send-card": (ExitCode.PROBLEM, f"no answer within --wait {SHORT} s"),
        },
        timeout=SHORT,
    ),
    Failure("the connection closed before any answer", CLOSE, same(*UNREACHED)),
    Failure("the connection reset before any answer", RESET, same(*UNREACHED)),
    Failure(
        "the connection closed in the middle of the body",
        [response(200, '{"widgetId": "wid_demo"}')[:-6], CLOSE],
        same(*UNREACHED),
    ),
    Failure(
        "an answer that is not HTTP",
        [b"SSH-2.0-OpenSSH_9.6\r\n", CLOSE],
        same(*UNREACHED),
    ),
]
FAILURE_CASES = [
    pytest.param(failure, command, id=f"{command}: {failure.name}")
    for failure in FAILURES
    for command in failure.expect
]


@pytest.mark.parametrize(("failure", "command"), FAILURE_CASES)
def test_a_bad_answer_gives_one_clear_error_line_and_its_exit_code(
    failure: Failure, command: str, run_cli: Any
):
    exit_code, fragment = failure.expect[command]

    with BadServer(failure.answer) as server:
        result = run_against(run_cli, server.url, command, failure.timeout)

    assert_one_clear_error(result, exit_code, fragment)
    assert server.connections >= 1
    if command in POSTS:
        # A second mint is a second real call; a second result or card is a
        # duplicate the API would refuse or, worse, act on.
        assert [request.method for request in server.requests] == ["POST"]


def test_a_redirect_loop_on_a_get_stops_after_a_bounded_number_of_requests(run_cli):
    with BadServer(loop) as server:
        result = run_against(run_cli, server.url, "get-config")

    assert result.exit_code == ExitCode.PROBLEM
    assert 1 < len(server.requests) <= 21


def test_an_error_envelope_keeps_the_request_id_the_server_gave(run_cli):
    with BadServer(json_response(200, ENVELOPE)) as server:
        result = run_against(run_cli, server.url, "get-config")

    assert "[request req_envelope]" in result.stderr


# Odd answers that still mean success


ACCEPTED_RESULTS = [
    pytest.param(response(204), id="the documented 204"),
    # h11 ignores a body on a 204: the status is what the API promised.
    pytest.param(response(204, '{"late": "body"}'), id="a 204 with a body"),
    pytest.param(response(200, ""), id="an empty 200"),
    pytest.param(json_response(200, {"ok": True, "extra": 1}), id="a JSON 200"),
    pytest.param(json_response(200, [1, 2]), id="a 200 with an array"),
    pytest.param(json_response(200, WRONG_TYPES), id="a 200 with odd members"),
    pytest.param(json_response(202, {}), id="a 202"),
]


@pytest.mark.parametrize("answer", ACCEPTED_RESULTS)
def test_post_result_takes_any_success_without_an_error_as_accepted(answer, run_cli):
    with BadServer(answer) as server:
        result = run_against(run_cli, server.url, "post-result")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert "result accepted for tc_1" in result.stderr
    assert len(server.requests) == 1


def test_an_empty_config_is_a_config_because_every_member_is_optional(run_cli):
    with BadServer(json_response(200, {})) as server:
        result = run_against(run_cli, server.url, "get-config")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert "wid_demo" in result.stdout


MINTED = {
    "platform": "retell",
    "accessToken": "acc_" + "z" * 24,
    "callId": "call_extra",
    "expiresAt": "2030-01-01T00:00:00Z",
    "sessionToken": "sst_" + "y" * 32,
}
EXTRA = {"futureMember": {"nested": [1, "two"]}, "flag": True}


@pytest.mark.parametrize(
    ("command", "body"),
    [
        ("get-config", {"widgetId": "wid_demo", "platform": "retell", **EXTRA}),
        ("mint-token", {**MINTED, **EXTRA}),
        ("send-card", {"result": RESULT_TEXT, **EXTRA}),
    ],
)
def test_members_the_spec_does_not_name_are_accepted_and_kept_in_json(
    command: str, body: dict[str, Any], run_cli
):
    with BadServer(json_response(200, body)) as server:
        result = run_against(run_cli, server.url, command, json_flag=True)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    printed = json.loads(result.stdout)
    assert printed["futureMember"] == EXTRA["futureMember"]
    assert printed["flag"] is True


def test_an_answer_that_arrives_in_small_pieces_is_read_whole(run_cli):
    # Each piece comes well within the read timeout, so the answer is slow
    # but alive: it must not be taken for a stall.
    body = {"widgetId": "wid_demo", "platform": "retell", "mode": "voice"}
    answer = Send(json_response(200, body), size=7, pause=0.005)

    with BadServer(answer) as server:
        result = run_against(run_cli, server.url, "get-config", json_flag=True)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert json.loads(result.stdout)["mode"] == "voice"


def test_an_unknown_platform_is_a_valid_mint(run_cli):
    body = {**MINTED, "platform": "vapi"}

    with BadServer(json_response(200, body)) as server:
        result = run_against(run_cli, server.url, "mint-token")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr


# The event stream (watch-events): faults of the answer that opens it


def watch(run_cli: Any, url: str, *extra: str, reconnect: bool = False) -> Any:
    # A saved session for this call: no "not minted here" warning first.
    session_store.save(
        session_store.SavedSession(
            base_url=url,
            widget_id="wid_demo",
            origin=ORIGIN,
            call_id=CALL,
            session_token=TOKEN,
            expires_at="2030-01-01T00:00:00+00:00",
        )
    )
    options = ("--base-url", url, "--read-timeout", SHORT)
    flags = ["--timeout", PATIENCE, "--heartbeat-interval", "0.2"]
    flags += ["--reconnect-delay", "0"] if reconnect else ["--no-reconnect"]
    return run_cli(*options, "watch-events", CALL, *flags, *extra)


STREAM_FAILURES = [
    pytest.param(
        json_response(200, ENVELOPE),
        ExitCode.PROBLEM,
        "not text/event-stream",
        id="an error envelope on a 200",
    ),
    pytest.param(
        response(200, "{not json", content_type="application/json"),
        ExitCode.PROBLEM,
        "not text/event-stream",
        id="invalid JSON",
    ),
    pytest.param(
        html_page(502, "502 Bad Gateway"),
        ExitCode.PROBLEM,
        "HTTP 502: the answer was an HTML page",
        id="an HTML 502 page",
    ),
    pytest.param(
        loop, ExitCode.PROBLEM, "HTTP 302: the API redirected", id="a redirect"
    ),
    pytest.param(HOLD, ExitCode.UNREACHABLE, "did not answer in time", id="no answer"),
    pytest.param(CLOSE, *UNREACHED, id="closed before any answer"),
    pytest.param(RESET, *UNREACHED, id="reset before any answer"),
]


@pytest.mark.parametrize(("answer", "exit_code", "fragment"), STREAM_FAILURES)
def test_a_stream_that_cannot_open_gives_one_clear_error_line(
    answer: Answer, exit_code: int, fragment: str, run_cli
):
    with BadServer(answer) as server:
        result = watch(run_cli, server.url)

    assert_one_clear_error(result, exit_code, fragment)
    assert len(server.requests) == 1


def test_events_split_into_three_byte_pieces_arrive_whole(run_cli):
    events = sse_event({"type": "ready", "callId": CALL}) + sse_event(
        {"type": "heartbeat", "at": "2030-01-01T00:00:00Z"}
    )
    answer = [stream_head(), Send(events, size=3, pause=0.002), CLOSE]

    with BadServer(answer) as server:
        result = watch(run_cli, server.url, "--json")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    kinds = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert kinds == ["ready", "heartbeat"]


def test_a_stream_cut_off_mid_event_keeps_the_events_before_it(run_cli):
    ready = sse_event({"type": "ready", "callId": CALL})
    answer = [stream_head(), ready, b'data: {"type": "heart', CLOSE]

    with BadServer(answer) as server:
        result = watch(run_cli, server.url, "--json")

    # The half event is dropped, as a browser drops it, and the cut reported.
    assert_one_clear_error(
        result,
        ExitCode.UNREACHABLE,
        "the stream ended in the middle of an event",
        data_first=True,
    )
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == [
        "ready"
    ]


@pytest.mark.parametrize(
    ("event_id", "resumed_with"),
    [("42", "42"), ("café", None), ("a\x01b", None)],
    ids=["ascii", "non-ascii", "control character"],
)
def test_a_reconnect_resumes_with_the_last_id_only_when_a_header_can_carry_it(
    event_id: str, resumed_with: str | None, run_cli
):
    ready = sse_event({"type": "ready", "callId": CALL}, event_id=event_id)
    beat = sse_event({"type": "heartbeat", "at": "2030-01-01T00:00:00Z"})
    # The first stream breaks off inside a chunk, so the reader reconnects.
    dropped = [stream_head(chunked=True), chunk(ready), b"ff\r\npartial", CLOSE]
    resumed = [stream_head(chunked=True), chunk(beat), HOLD]

    with BadServer(dropped, resumed) as server:
        result = watch(
            run_cli, server.url, "--json", "--max-events", "2", reconnect=True
        )

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert len(server.requests) == 2
    assert server.requests[1].headers.get("last-event-id") == resumed_with


def test_events_that_are_not_json_objects_are_shown_not_fatal(run_cli):
    answer = [
        stream_head(),
        b"data: {not json\n\n",
        b"data: [1, 2]\n\n",
        sse_event({"type": "ready", "callId": CALL, "later": {"x": 1}}),
        CLOSE,
    ]

    with BadServer(answer) as server:
        result = watch(run_cli, server.url, "--json")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["_data"] == "{not json"
    assert lines[1]["_value"] == [1, 2]
    assert lines[2]["later"] == {"x": 1}


# diagnose: a report, not an error line; still the right exit and no traceback


def diagnose(run_cli: Any, url: str) -> Any:
    options = ("--base-url", url, "--read-timeout", SHORT)
    flags = ("--heartbeat-wait", "0", "--ready-wait", SHORT, "--json")
    return run_cli(*options, "diagnose", "wid_demo", "--origin", ORIGIN, *flags)


DIAGNOSE_FAULTS = [
    pytest.param(response(200, "{not json"), ExitCode.PROBLEM, id="invalid JSON"),
    pytest.param(
        html_page(502, "502 Bad Gateway"), ExitCode.PROBLEM, id="an HTML 502 page"
    ),
    pytest.param(loop, ExitCode.PROBLEM, id="a redirect loop"),
    pytest.param(HOLD, ExitCode.UNREACHABLE, id="no answer"),
    pytest.param(CLOSE, ExitCode.UNREACHABLE, id="closed before any answer"),
    pytest.param(
        json_response(200, ENVELOPE), ExitCode.PROBLEM, id="an error envelope on a 200"
    ),
]


@pytest.mark.parametrize(("answer", "exit_code"), DIAGNOSE_FAULTS)
def test_diagnose_reports_a_bad_api_with_its_exit_code_and_no_crashed_check(
    answer: Answer, exit_code: int, run_cli
):
    with BadServer(answer) as server:
        result = diagnose(run_cli, server.url)

    assert result.exit_code == exit_code, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    causes = [cause["code"] for cause in report["causes"]]
    assert "check_error" not in causes, report["causes"]
