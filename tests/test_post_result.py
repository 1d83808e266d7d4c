"""post-result end to end: the CLI plays the widget against the real sandbox."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from powsoo_cli import session_store
from powsoo_cli.client import PowsooClient
from powsoo_cli.exit_codes import ExitCode
from tests.test_send_card import (
    CARD,
    CountingServer,
    Listener,
    canned,
    mint,
)


class PendingCard:
    """A show-card webhook held by the sandbox, sent as Retell would."""

    def __init__(self, listener: Listener) -> None:
        self.answer: dict[str, Any] | None = None
        self._thread = threading.Thread(
            target=self._send, args=(listener,), daemon=True
        )
        self._thread.start()
        self.tool_call_id: str = listener.next_card()["toolCallId"]

    def _send(self, listener: Listener) -> None:
        with PowsooClient(listener.url) as client:
            reply = client.show_card(listener.call_id, CARD, wait=10)
        self.answer = json.loads(reply.body.result)

    def delivered(self) -> dict[str, Any] | None:
        """The result the LLM got, once the webhook is released."""
        self._thread.join(10)
        return self.answer


@pytest.fixture
def listener(sandbox) -> Iterator[Listener]:
    with Listener(sandbox.url) as running:
        yield running


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer(canned("500 Internal Server Error", {"ok": False}))
    yield server
    server.close()


def post(run_cli, listener: Listener, *args: str) -> Any:
    target = ("--base-url", listener.url, "post-result", listener.call_id)
    return run_cli(*target, "--token", listener.token, *args)


# Answers that are accepted


def test_a_result_from_flags_reaches_the_held_webhook(listener, run_cli):
    pending = PendingCard(listener)

    fields = ("--field", "Email=jane@example.org", "--field", "Plan=pro")
    answer = ("--action", "confirm", *fields, "--edited", "Email")

    result = post(run_cli, listener, "-t", pending.tool_call_id, *answer)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert pending.delivered() == {
        "status": "edited",
        "action": "confirm",
        "fields": {"Email": "jane@example.org", "Plan": "pro"},
        "edited": ["Email"],
    }
    assert f"result accepted for {pending.tool_call_id}: edited" in result.stderr
    assert "HTTP 204 in" in result.stderr
    assert result.stdout == ""


def test_a_skip_action_is_reported_as_skipped_unless_told_otherwise(listener, run_cli):
    pending = PendingCard(listener)

    result = post(run_cli, listener, "-t", pending.tool_call_id, "--action", "skip")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert pending.delivered() == {"status": "skipped", "action": "skip", "edited": []}


def test_json_output_reports_acceptance_on_stdout(listener, run_cli):
    pending = PendingCard(listener)

    result = post(
        run_cli, listener, "-t", pending.tool_call_id, "-a", "confirm", "--json"
    )

    report = json.loads(result.stdout)
    assert report["accepted"] is True
    assert report["status"] == 204
    assert isinstance(report["elapsedMs"], float)
    assert report["requestId"].startswith("req_")
    assert pending.delivered() == {
        "status": "confirmed",
        "action": "confirm",
        "edited": [],
    }


@pytest.mark.parametrize("whole_body", [True, False])
def test_a_result_file_is_read_from_stdin(listener, run_cli, monkeypatch, whole_body):
    pending = PendingCard(listener)
    answer = {"status": "confirmed", "action": "confirm", "fields": {"Plan": "basic"}}
    document = (
        {"toolCallId": pending.tool_call_id, "result": answer} if whole_body else answer
    )
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(document).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)

    extra = () if whole_body else ("--tool-call-id", pending.tool_call_id)
    result = post(run_cli, listener, "--result-file", "-", *extra)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert pending.delivered() == {**answer, "edited": []}


def test_the_saved_session_supplies_call_token_and_api(listener, run_cli):
    session_store.save(
        session_store.SavedSession(
            base_url=listener.url,
            widget_id="wid_demo",
            origin="https://shop.example",
            call_id=listener.call_id,
            session_token=listener.token,
            expires_at="2999-01-01T00:00:00+00:00",
        )
    )
    pending = PendingCard(listener)

    result = run_cli("post-result", "-t", pending.tool_call_id, "-a", "confirm")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert f"using the saved session: call {listener.call_id}" in result.stderr
    assert f"talking to {listener.url}" in result.stderr
    assert pending.delivered() is not None
    assert listener.token not in result.stderr


def test_the_session_token_setting_is_used_when_no_flag_is_given(
    listener, run_cli, monkeypatch
):
    monkeypatch.setenv("POWSOO_SESSION_TOKEN", listener.token)
    pending = PendingCard(listener)

    target = ("--base-url", listener.url, "post-result", listener.call_id)
    result = run_cli(*target, "-t", pending.tool_call_id, "-a", "confirm")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert pending.delivered() is not None


# Answers the API refuses


def test_an_answer_to_no_waiting_card_is_explained(listener, run_cli):
    result = post(run_cli, listener, "-t", "tc_nothing", "--action", "confirm")

    assert result.exit_code == ExitCode.PROBLEM
    assert "tool_call_not_found (HTTP 404)" in result.stderr
    assert "no card waits for tc_nothing" in result.stderr
    assert "already answered" in result.stderr
    assert "110 s hold expired" in result.stderr


def test_a_second_answer_to_the_same_card_is_refused(listener, run_cli):
    pending = PendingCard(listener)
    first = post(run_cli, listener, "-t", pending.tool_call_id, "-a", "confirm")
    pending.delivered()

    second = post(run_cli, listener, "-t", pending.tool_call_id, "-a", "confirm")

    assert first.exit_code == ExitCode.SUCCESS
    assert second.exit_code == ExitCode.PROBLEM
    assert "tool_call_not_found" in second.stderr


def test_an_unknown_call_is_told_apart_from_an_unknown_card(sandbox, run_cli):
    token = mint(sandbox.url).sessionToken

    target = ("--base-url", sandbox.url, "post-result", "call_unknown")
    result = run_cli(*target, "--token", token, "-t", "tc_1", "-a", "confirm")

    assert result.exit_code == ExitCode.PROBLEM
    assert "session_not_found (HTTP 404)" in result.stderr
    assert "no live session for call call_unknown" in result.stderr


def test_a_refused_token_exits_4_with_a_hint_to_mint_again(listener, run_cli):
    target = ("--base-url", listener.url, "post-result", listener.call_id)
    answer = ("-t", "tc_1", "-a", "confirm")
    result = run_cli(*target, "--token", "sst_not_a_real_token", *answer)

    assert result.exit_code == ExitCode.TOKEN_REJECTED
    assert "invalid_session_token (HTTP 401)" in result.stderr
    assert "powsoo mint-token" in result.stderr
    assert "sst_not_a_real_token" not in result.stderr


# Nothing is sent when the input is wrong


def offline(run_cli, server: CountingServer, *args: str) -> Any:
    target = ("--base-url", server.url, "post-result", "call_1")
    return run_cli(*target, "--token", "sst_abcdefgh", *args)


def write(tmp_path: Path, data: bytes | str) -> str:
    path = tmp_path / "result.json"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("-t", "tc_1"), "no result given"),
        (("-a", "confirm"), "--tool-call-id is required"),
        (("-t", "tc_1", "-a", "ok", "--field", "Email"), "expected LABEL=VALUE"),
        (("-t", "tc_1", "-a", "ok", "--field", "=x"), "the label is empty"),
        (
            ("-t", "tc_1", "-a", "ok", "-f", "A=1", "-f", "A=2"),
            "the label 'A' is given twice",
        ),
        (
            ("-t", "tc_1", "-a", "ok", "-f", "A=1", "--edited", "B"),
            "edited names 'B', but only fields with a value can be edited",
        ),
        (
            ("-t", "tc_1", "-a", "ok", "--status", "edited"),
            "status 'edited' means at least one field changed",
        ),
        (
            ("-t", "tc_1", "-a", "ok", "-f", "A=1", "-e", "A", "--status", "confirmed"),
            "status 'confirmed' means nothing changed",
        ),
        (("-t", "tc_1", "-a", "ok", "--status", "done"), "'done' is not a status"),
        (
            ("-t", "tc_1", "-a", "ok", "--result-file", "x.json"),
            "--result-file holds the whole result; drop --action",
        ),
        (("--result-file", "/nonexistent/r.json"), "no such file"),
    ],
)
def test_bad_result_flags_are_refused_before_sending(
    args, problem, counting_server, run_cli
):
    result = offline(run_cli, counting_server, *args)

    assert result.exit_code == ExitCode.USAGE
    assert problem in result.stderr
    assert counting_server.connections == 0


@pytest.mark.parametrize(
    ("content", "args", "problem"),
    [
        (
            '{"status": "confirmed",\n  "action" "x"}',
            (),
            "result.json:2:12: the result is not valid JSON",
        ),
        (b'{"action": "\xe9"}', (), "result.json:1:13: the result is not UTF-8"),
        (b"", (), "the result is empty"),
        (b"[" * 100_000, (), "nested too deeply"),
        (b"1" * (1024 * 1024 + 1), (), "larger than 1 MiB"),
        ('{"status": "confirmed", "action": "ok"}', (), "--tool-call-id is required"),
        (
            '{"status": "confirmed", "action": "ok", "note": 1}',
            ("-t", "tc_1"),
            "result.note: not part of a result",
        ),
        (
            '{"toolCallId": "tc_1", "result": {"status": "maybe", "action": ""}}',
            (),
            "result.status: must be one of confirmed, edited, skipped; got 'maybe'; "
            "result.action: must not be empty",
        ),
        (
            '{"toolCallId": "tc_1", "result": {"status": "confirmed", "action": "a"}}',
            ("-t", "tc_2"),
            "--tool-call-id 'tc_2' differs from the toolCallId 'tc_1'",
        ),
        (
            '{"result": {"status": "confirmed", "action": "a", "fields": {"A": 1}}}',
            ("-t", "tc_1"),
            "result.fields.A: must be a string, not a number",
        ),
        (
            '{"toolCallId": "tc_1", "result": {"status": "edited", "action": "a",'
            ' "edited": ["A"]}}',
            (),
            "edited names 'A', but only fields with a value can be edited",
        ),
    ],
)
def test_a_bad_result_file_is_refused_before_sending(
    content, args, problem, counting_server, run_cli, tmp_path
):
    result_file = write(tmp_path, content)

    result = offline(run_cli, counting_server, "--result-file", result_file, *args)

    assert result.exit_code == ExitCode.USAGE
    assert problem in result.stderr
    assert counting_server.connections == 0


def test_without_a_token_nothing_is_sent(counting_server, run_cli):
    target = ("--base-url", counting_server.url, "post-result", "call_1")
    result = run_cli(*target, "-t", "tc_1", "-a", "ok")

    assert result.exit_code == ExitCode.USAGE
    assert "no session token for call call_1" in result.stderr
    assert counting_server.connections == 0


def test_without_a_call_id_or_saved_session_nothing_is_sent(counting_server, run_cli):
    result = run_cli(
        "--base-url", counting_server.url, "post-result", "-t", "tc_1", "-a", "ok"
    )

    assert result.exit_code == ExitCode.USAGE
    assert "no call id given and no saved session" in result.stderr
    assert counting_server.connections == 0
