"""watch-events end to end against the real sandbox, plus its views and the
--answer dialogue; the full round trip runs the CLI as a child process.

Faults the sandbox cannot produce (unknown event types, captured request
headers) come from the scripted server of test_stream_resilience.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from rich.console import Console

from powsoo_cli import session_store
from powsoo_cli.client import PowsooClient
from powsoo_cli.commands.watch_events import Prompter, ask_result, parse_stream_url
from powsoo_cli.errors import ApiError, PowsooError, UsageError
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.models import Card, ToolCallEvent
from powsoo_cli.render.events import (
    NOT_JSON,
    JsonLinesWriter,
    LiveView,
    card_panel,
    quick_kind,
)
from powsoo_cli.sse import SSEMessage
from tests.test_stream_resilience import READY, ScriptedServer, event, stream

ORIGIN = "https://shop.example"
CARD: dict[str, Any] = {
    "title": "Check [bold]your[/bold] details",
    "description": "We heard this:",
    "fields": [
        {"label": "Email", "value": "jane@exmaple.org", "type": "email"},
        {
            "label": "Plan",
            "value": "basic",
            "type": "select",
            "options": [
                {"id": "basic", "label": "Basic"},
                {"id": "pro", "label": "Pro"},
            ],
        },
        {"label": "Consent", "value": "false", "type": "consent"},
        {"label": "Note", "value": "VIP", "editable": False},
    ],
    "actions": [
        {"label": "Confirm", "value": "confirm", "style": "primary"},
        {"label": "Skip", "value": "Skip", "style": "secondary"},
    ],
}


@pytest.fixture
def call(sandbox) -> tuple[str, str]:
    with PowsooClient(sandbox.url) as client:
        minted = client.mint_voice_token("wid_demo", ORIGIN).body
    return minted.callId, minted.sessionToken


@pytest.fixture
def scripted() -> Any:
    servers: list[ScriptedServer] = []

    def make(*replies: Any) -> ScriptedServer:
        servers.append(ScriptedServer(*replies))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


# Against the sandbox


def test_json_prints_ready_then_a_heartbeat_and_stops_at_max_events(
    sandbox, run_cli, call
):
    call_id, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id, "--token", token,
        "--json", "--max-events", "2",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    ready, beat = json_lines(result.stdout)
    assert ready == {"type": "ready", "callId": call_id, "_event": "message"}
    assert beat["type"] == "heartbeat" and "at" in beat
    assert token not in result.stderr


def test_until_heartbeat_exits_0_on_the_first_heartbeat(sandbox, run_cli, call):
    call_id, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id, "--token", token,
        "--json", "--until", "heartbeat",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS
    assert [item["type"] for item in json_lines(result.stdout)] == [
        "ready",
        "heartbeat",
    ]


def test_timeout_before_until_is_met_exits_1_with_a_clear_message(
    sandbox, run_cli, call
):
    call_id, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id, "--token", token,
        "--json", "--until", "tool_call", "--timeout", "0.5",
    )  # fmt: skip

    assert result.exit_code == ExitCode.PROBLEM
    assert "an event of type tool_call did not happen within 0.5 s" in result.stderr
    assert json_lines(result.stdout)[0]["type"] == "ready"


def test_timeout_without_a_goal_bounds_the_watch_and_exits_0(sandbox, run_cli, call):
    call_id, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id, "--token", token,
        "--timeout", "0.5",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS
    assert "stopped after 0.5 s (--timeout)" in result.stderr
    assert re.search(r"^\d\d:\d\d:\d\d  ready ", result.stdout, re.M)


def test_type_filters_what_is_shown(sandbox, run_cli, call):
    call_id, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id, "--token", token,
        "--json", "--type", "heartbeat", "--max-events", "2",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS
    assert [item["type"] for item in json_lines(result.stdout)] == ["heartbeat"] * 2


def test_a_pasted_stream_url_gives_base_url_call_and_token(sandbox, run_cli, call):
    call_id, token = call
    url = f"{sandbox.url}/v1/sessions/{call_id}/stream?token={token}"

    result = run_cli("watch-events", url, "--json", "--max-events", "1")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert json_lines(result.stdout) == [
        {"type": "ready", "callId": call_id, "_event": "message"}
    ]
    assert token not in result.stderr + result.stdout


def test_a_pasted_url_still_sends_the_token_in_the_header_only(scripted, run_cli):
    server = scripted(stream(event(READY)))
    token = "sst_pasted_url_token_123"
    url = f"{server.url}/v1/sessions/call_pasted/stream?token={token}"

    result = run_cli("watch-events", url, "--json")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    (path, headers), *_ = server.requests
    assert path == "/v1/sessions/call_pasted/stream"
    assert headers["x-powsoo-session-token"] == token


def test_the_saved_session_needs_no_arguments_and_no_warning(sandbox, run_cli):
    minted = run_cli(
        "--base-url", sandbox.url, "mint-token", "wid_demo", "--origin", ORIGIN
    )
    assert minted.exit_code == ExitCode.SUCCESS, minted.stderr
    saved = session_store.load()
    assert saved is not None

    result = run_cli("watch-events", "--json", "--max-events", "1")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert json_lines(result.stdout)[0]["callId"] == saved.call_id
    assert "using the saved session" in result.stderr
    assert "not minted by this tool" not in result.stderr


def test_attaching_to_a_call_minted_elsewhere_warns_first(sandbox, run_cli, call):
    call_id, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id, "--token", token,
        "--json", "--max-events", "1",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS
    assert "was not minted by this tool" in result.stderr
    assert "take its cards away" in result.stderr


def test_a_wrong_token_exits_4(sandbox, run_cli, call):
    call_id, _ = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id,
        "--token", "sst_not_the_right_token",
    )  # fmt: skip

    assert result.exit_code == ExitCode.TOKEN_REJECTED
    assert "invalid_session_token (HTTP 401)" in result.stderr
    assert result.stdout == ""


def test_a_token_given_as_an_argument_never_reaches_the_debug_trace(scripted, run_cli):
    # No sst_ prefix: only its registration as a secret can hide it.
    token = "opaque-token-0123456789"
    server = scripted(stream(event(READY)))

    result = run_cli(
        "--debug", "--base-url", server.url, "watch-events", "call_x",
        "--token", token, "--json",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS
    assert server.requests[0][1]["x-powsoo-session-token"] == token
    assert "x-powsoo-session-token: opaq…" in result.stderr
    assert token not in result.stderr


def test_an_unknown_call_is_a_404_with_its_explanation(sandbox, run_cli, call):
    _, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", "call_nobody", "--token", token
    )

    assert result.exit_code == ExitCode.PROBLEM
    assert "session_not_found (HTTP 404)" in result.stderr
    assert "hint:" in result.stderr


def test_raw_prints_event_data_and_id_as_parsed(sandbox, run_cli, call):
    call_id, token = call

    result = run_cli(
        "--base-url", sandbox.url, "watch-events", call_id, "--token", token,
        "--raw", "--max-events", "2",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS
    first, second = json_lines(result.stdout)
    assert set(first) == {"event", "data", "id"}
    assert first["event"] == "message" and first["id"] == ""
    assert json.loads(first["data"]) == {"type": "ready", "callId": call_id}
    assert json.loads(second["data"])["type"] == "heartbeat"


# Against a scripted server: what the sandbox never sends


ODD_STREAM = (
    event({"type": "transcript", "text": "[bold]hi[/bold]"}, id="7"),
    b"data: not json at all\n\n",
    b"event: custom\ndata: [1, 2]\n\n",
)


def test_unknown_events_are_shown_raw_and_never_as_markup(scripted, run_cli):
    server = scripted(stream(event(READY), *ODD_STREAM))

    result = run_cli(
        "--base-url", server.url, "watch-events", "call_x", "--token", "sst_abcdefgh"
    )

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    shown = result.stdout.splitlines()
    assert len(shown) == 4
    assert '"text": "[bold]hi[/bold]"' in shown[1]
    assert "unknown" in shown[1] and "[id 7]" in shown[1]
    assert shown[2].endswith("not json at all  [id 7]")
    assert "[1, 2]  [event custom]" in shown[3]


def test_json_keeps_odd_events_with_documented_keys(scripted, run_cli):
    server = scripted(stream(*ODD_STREAM))

    result = run_cli(
        "--base-url", server.url, "watch-events", "call_x", "--token", "sst_abcdefgh",
        "--json",
    )  # fmt: skip

    assert json_lines(result.stdout) == [
        {
            "type": "transcript",
            "text": "[bold]hi[/bold]",
            "_event": "message",
            "_id": "7",
        },
        {"_data": "not json at all", "_event": "message", "_id": "7"},
        {"_value": [1, 2], "_event": "custom", "_id": "7"},
    ]


def test_raw_keeps_data_that_is_not_json(scripted, run_cli):
    server = scripted(stream(*ODD_STREAM))

    result = run_cli(
        "--base-url", server.url, "watch-events", "call_x", "--token", "sst_abcdefgh",
        "--raw", "--type", "custom",
    )  # fmt: skip

    assert json_lines(result.stdout) == [
        {"event": "custom", "data": "[1, 2]", "id": "7"}
    ]


def test_answer_stops_with_a_clear_message_when_stdin_is_closed(
    scripted, run_cli, monkeypatch
):
    card_event = {"type": "tool_call", "toolCallId": "tc_1", "card": CARD}
    server = scripted(stream(event(READY), event(card_event)))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    result = run_cli(
        "--base-url", server.url, "watch-events", "call_x", "--token", "sst_abcdefgh",
        "--answer",
    )  # fmt: skip

    assert result.exit_code == ExitCode.PROBLEM
    assert "stdin ended while a card waited for an answer" in result.stderr
    assert len(server.requests) == 1  # no result was posted


# Bad input: exit 2 and nothing sent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["call_x", "--token", "sst_abcdefgh", "--json", "--raw"], "cannot be used"),
        (["wid_demo", "--token", "sst_abcdefgh"], "is a widget id"),
        (["call x", "--token", "sst_abcdefgh"], "is not a call id"),
        (["call_x"], "no session token for call call_x"),
        (["call_x", "--token", "sst_abc defgh"], "white space"),
        (["call_x", "--token", "sst_abcdefgh", "--type", " "], "--type needs"),
    ],
)
def test_bad_input_is_a_usage_error_and_sends_nothing(scripted, run_cli, args, message):
    server = scripted(stream(event(READY)))

    result = run_cli("--base-url", server.url, "watch-events", *args)

    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert server.requests == []


def test_no_call_and_no_saved_session_is_a_usage_error(run_cli):
    result = run_cli("watch-events")

    assert result.exit_code == ExitCode.USAGE
    assert "no call id given and no saved session" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/v1/sessions/c/stream",
        "https://host/v1/sessions/c/results",
        "https:///v1/sessions/c/stream",
        "http://[::1/v1/sessions/c/stream",
    ],
)
def test_urls_that_are_not_stream_urls_are_refused(url):
    with pytest.raises(UsageError):
        parse_stream_url(url)


def test_a_stream_url_behind_a_path_prefix_keeps_the_prefix():
    parsed = parse_stream_url(
        "https://tunnel.example/api/v1/sessions/call%20x/stream?token=sst_t&x=1"
    )

    assert parsed.base_url == "https://tunnel.example/api"
    assert parsed.call_id == "call x"
    assert parsed.token == "sst_t"


def test_a_base_url_that_contradicts_the_pasted_url_is_refused(run_cli):
    result = run_cli(
        "--base-url", "https://api.powsoo.com", "watch-events",
        "https://other.example/v1/sessions/c/stream?token=sst_abcdefgh",
    )  # fmt: skip

    assert result.exit_code == ExitCode.USAGE
    assert "disagree" in result.stderr


# The views


def render(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_a_card_panel_shows_every_part_of_the_card_without_markup():
    text = render(card_panel(ToolCallEvent.model_validate(
        {"toolCallId": "tc_9", "card": CARD}
    )))  # fmt: skip

    assert "Check [bold]your[/bold] details" in text
    assert "tc_9" in text and "We heard this:" in text
    assert re.search(r"Email\s+email\s+jane@exmaple.org\s+editable", text)
    assert re.search(r"Plan\s+select\s+basic\s+editable", text)
    assert "options: basic=Basic · pro=Pro" in text
    assert re.search(r"Note\s+text\s+VIP\s+read-only", text)
    assert re.search(r"1\s+Confirm\s+confirm\s+primary", text)
    assert re.search(r"2\s+Skip\s+Skip\s+secondary", text)


def test_control_characters_from_the_server_are_shown_escaped():
    card = {**CARD, "title": "bad\x1b]0;owned\x07title"}

    text = render(card_panel(ToolCallEvent.model_validate(
        {"toolCallId": "tc_9", "card": card}
    )))  # fmt: skip

    assert "\x1b" not in text
    assert "bad\\x1b]0;owned\\x07title" in text


def test_the_live_view_folds_heartbeats_into_its_status_line():
    screen, status_line = io.StringIO(), io.StringIO()
    view = LiveView(Console(file=screen, width=100, force_terminal=True), 15)
    beat = SSEMessage("message", "", "", None)
    data = {"type": "heartbeat", "at": "2025-01-01T00:00:00Z"}

    for _ in range(3):
        view.add(beat, data, "heartbeat")
    view.add(beat, {"type": "ready", "callId": "call_7"}, "ready")
    Console(file=status_line, width=100).print(view.status)
    view.close()

    assert re.search(r"last heartbeat \d+ s ago", status_line.getvalue())
    assert "3 heartbeats" in status_line.getvalue()
    assert "call call_7" in screen.getvalue()
    assert "2025-01-01" not in screen.getvalue()


def test_json_lines_splice_and_reencode_agree():
    out = io.StringIO()
    writer = JsonLinesWriter(out)
    messages = [
        SSEMessage("message", '{"a":1}', "", None),
        SSEMessage("message", '{ "a" : 1 }  ', "", None),
        SSEMessage("named", '{"a":1}', "9", None),
        SSEMessage("message", '{"_event":"mine"}', "", None),
        SSEMessage("message", "{}", "", None),
        SSEMessage("message", '{"a":\n1}', "", None),
    ]

    writer.add_batch(messages)
    writer.flush()

    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"a": 1, "_event": "message"},
        {"a": 1, "_event": "message"},
        {"a": 1, "_event": "named", "_id": "9"},
        {"_event": "message"},
        {"_event": "message"},
        {"a": 1, "_event": "message"},
    ]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"type": "ready", "callId": "c"}, "ready"),
        ({"type": "heartbeat", "at": "2025-01-01T00:00:00Z"}, "heartbeat"),
        ({"type": "heartbeat", "at": None}, "unknown"),
        ({"toolCallId": "tc", "card": CARD}, "tool_call"),
        ({"toolCallId": "tc", "card": {"title": "no actions"}}, "unknown"),
        ({"toolCallId": "tc", "reason": "timeout"}, "tool_call_cancelled"),
        ({"type": "transcript"}, "unknown"),
        ([1, 2], "unknown"),
        (NOT_JSON, "unknown"),
    ],
)
def test_quick_kind_classifies_by_shape(data, kind):
    assert quick_kind(data) == kind


# --answer, one question at a time


def answers(*replies: str) -> tuple[Prompter, io.StringIO]:
    questions = io.StringIO()
    return Prompter(io.StringIO("".join(r + "\n" for r in replies)), questions), (
        questions
    )


def test_changing_fields_gives_edited_with_every_final_value():
    prompter, _ = answers("1", "jane@example.org", "2", "y")

    result = ask_result(Card.model_validate(CARD), prompter)

    assert result.model_dump() == {
        "status": "edited",
        "action": "confirm",
        "fields": {
            "Email": "jane@example.org",
            "Plan": "pro",
            "Consent": "true",
            "Note": "VIP",
        },
        "edited": ["Email", "Plan", "Consent"],
    }


def test_keeping_every_value_gives_confirmed():
    prompter, questions = answers("confirm", "", "", "")

    result = ask_result(Card.model_validate(CARD), prompter)

    assert result.status == "confirmed"
    assert result.edited == []
    assert result.fields == {
        "Email": "jane@exmaple.org",
        "Plan": "basic",
        "Consent": "false",
        "Note": "VIP",
    }
    assert "Note" not in questions.getvalue()  # read-only: never asked


def test_a_skip_action_gives_skipped_whatever_its_case():
    prompter, _ = answers("2")

    result = ask_result(Card.model_validate(CARD), prompter)

    assert result.status == "skipped"
    assert result.action == "Skip"
    assert result.edited == []


def test_answers_that_do_not_fit_are_asked_again():
    prompter, questions = answers(
        "9", "1", "not-an-email", "", "gold", "1", "maybe", ""
    )

    result = ask_result(Card.model_validate(CARD), prompter)

    assert result.status == "confirmed"
    text = questions.getvalue()
    assert "choose a number from 1 to 2" in text
    assert "an email address looks like" in text
    assert "'gold' is not one of the options" in text
    assert "answer y or n" in text


def test_multiselect_dates_phones_and_clearing():
    card = Card.model_validate(
        {
            "title": "More",
            "fields": [
                {
                    "label": "Days",
                    "type": "multiselect",
                    "options": [
                        {"id": "mon", "label": "Monday"},
                        {"id": "tue", "label": "Tuesday"},
                    ],
                },
                {"label": "When", "type": "date"},
                {"label": "Phone", "type": "phone"},
                {"label": "Name", "value": "Jo"},
            ],
            "actions": [{"label": "OK", "value": "ok"}],
        }
    )
    prompter, _ = answers(
        "1", "2, mon", "31/01/2025", "2025-01-31", "+1 (415) 555-0123", "-"
    )

    result = ask_result(card, prompter)

    assert result.fields == {
        "Days": "tue,mon",
        "When": "2025-01-31",
        "Phone": "+14155550123",
        "Name": "",
    }
    assert result.edited == ["Days", "When", "Phone", "Name"]


def test_the_end_of_stdin_stops_the_dialogue():
    prompter, _ = answers("1")

    with pytest.raises(PowsooError, match="stdin ended"):
        ask_result(Card.model_validate(CARD), prompter)


# The full round trip, and Ctrl-C, with the CLI as a child process


def test_full_round_trip_the_webhook_receives_exactly_the_posted_result(
    sandbox, run_cli, run_process
):
    minted = run_cli(
        "--base-url", sandbox.url, "mint-token", "wid_demo", "--origin", ORIGIN
    )
    assert minted.exit_code == ExitCode.SUCCESS
    saved = session_store.load()
    assert saved is not None
    webhook: dict[str, Any] = {}

    def play_retell() -> None:
        # The card can only be shown once the child is listening.
        deadline = time.monotonic() + 20
        with PowsooClient(sandbox.url) as client:
            while True:
                try:
                    webhook["reply"] = client.show_card(saved.call_id, CARD, wait=20)
                    return
                except ApiError as exc:
                    if exc.status != 404 or time.monotonic() > deadline:
                        webhook["error"] = exc
                        return
                    time.sleep(0.05)

    retell = threading.Thread(target=play_retell)
    retell.start()
    child = run_process(
        "watch-events", "--answer", "--until", "tool_call", "--json",
        input="1\njane@example.org\npro\ny\n", timeout=30,
    )  # fmt: skip
    retell.join(30)

    assert child.returncode == ExitCode.SUCCESS, child.stderr
    assert "error" not in webhook, webhook.get("error")
    received = json.loads(webhook["reply"].body.result)
    posted = re.search(r"posted the result for (tc_\w+): (\{.*\})", child.stderr)
    assert posted is not None, child.stderr
    assert received == json.loads(posted.group(2))
    assert received == {
        "status": "edited",
        "action": "confirm",
        "fields": {
            "Email": "jane@example.org",
            "Plan": "pro",
            "Consent": "true",
            "Note": "VIP",
        },
        "edited": ["Email", "Plan", "Consent"],
    }
    card_line = json.loads(child.stdout.splitlines()[-1])
    assert card_line["toolCallId"] == posted.group(1)
    assert card_line["card"]["title"] == CARD["title"]


# A shell starts background jobs with SIGINT ignored, and children inherit
# that; the launcher puts Python's Ctrl-C handling back first.
WITH_CTRL_C = (
    "import runpy, signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'powsoo'; "
    "runpy.run_module('powsoo_cli', run_name='__main__')"
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_130_quietly(sandbox, call):
    call_id, token = call
    child = subprocess.Popen(
        [
            sys.executable, "-c", WITH_CTRL_C, "--base-url", sandbox.url,
            "watch-events", call_id, "--token", token, "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        ready, _, _ = select.select([child.stdout], [], [], 15)
        assert ready, "the child never printed an event"
        assert child.stdout is not None
        assert '"ready"' in child.stdout.readline()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()

    assert child.returncode == ExitCode.INTERRUPTED
    assert "Traceback" not in stderr
    assert "error" not in stderr
