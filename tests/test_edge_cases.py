"""Faults an operator meets by accident: a damaged state folder, and cards
that --answer cannot answer. Each gives one clear line, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from powsoo_cli import session_store
from powsoo_cli.exit_codes import ExitCode
from tests.test_stream_resilience import READY, ScriptedServer, event, stream

ORIGIN = "https://shop.example"
SAVED = {
    "base_url": "http://127.0.0.1:9",
    "widget_id": "wid_demo",
    "origin": ORIGIN,
    "call_id": "call_saved",
    "session_token": "sst_savedtoken123",
    "expires_at": "2999-01-01T00:00:00+00:00",
}


# The state file


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({**SAVED, "unknown": 1}),
        json.dumps({**SAVED, "expires_at": 7}),
        json.dumps({**SAVED, "call_id": 5, "base_url": None}),
    ],
)
def test_a_damaged_state_file_counts_as_no_saved_session(run_cli, content):
    folder = session_store.state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    session_store.state_file().write_text(content)

    result = run_cli("watch-events")

    assert result.exit_code == ExitCode.USAGE
    assert "no call id given and no saved session" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


def test_a_mint_that_cannot_be_saved_still_prints_the_token_and_says_why(
    run_cli, sandbox, tmp_path, monkeypatch
):
    stray = tmp_path / "a-file"
    stray.write_text("")
    monkeypatch.setenv("POWSOO_STATE_DIR", str(stray))

    result = run_cli(
        "--base-url", sandbox.url, "mint-token", "wid_demo", "-o", ORIGIN, "--json"
    )

    assert json.loads(result.stdout)["sessionToken"].startswith("sst_")
    assert result.exit_code == ExitCode.PROBLEM
    assert "the token was minted, but the session could not be saved" in result.stderr
    assert "--no-save" in result.stderr and "unexpected" not in result.stderr


def test_saving_never_writes_through_a_symlink_left_at_the_temporary_name(
    tmp_path: Path,
):
    folder = session_store.state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    elsewhere = tmp_path / "elsewhere"
    (folder / "last-session.tmp").symlink_to(elsewhere)

    path = session_store.save(session_store.SavedSession(**SAVED))

    assert not elsewhere.exists()
    assert not path.is_symlink()
    assert session_store.load() == session_store.SavedSession(**SAVED)
    assert os.stat(path).st_mode & 0o077 == 0


# Cards --answer cannot answer


@pytest.fixture
def card_stream() -> Any:
    servers: list[ScriptedServer] = []

    def make(card_event: dict[str, Any]) -> ScriptedServer:
        servers.append(ScriptedServer(stream(event(READY), event(card_event))))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.mark.parametrize(
    "card_event",
    [
        {
            "type": "tool_call",
            "toolCallId": "tc_1",
            "card": {"title": "t", "actions": []},
        },
        {
            "type": "tool_call",
            "toolCallId": "tc_1",
            "card": {"title": "t", "actions": [{"label": "Go", "value": ""}]},
        },
        {
            "type": "tool_call",
            "toolCallId": "",
            "card": {"title": "t", "actions": [{"label": "Go", "value": "go"}]},
        },
    ],
    ids=["no actions", "an action without a value", "no toolCallId"],
)
def test_a_card_that_cannot_be_answered_is_skipped_with_a_warning(
    card_stream, run_cli, monkeypatch, card_event
):
    import io
    import sys

    server = card_stream(card_event)
    # Plenty of answers: a card that asked anyway would loop through them all.
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n" * 50))

    result = run_cli(
        "--base-url", server.url, "watch-events", "call_x", "--token", "sst_abcdefgh",
        "--answer", "--max-retries", "1",
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS
    assert "cannot be answered; no result was posted" in result.stderr
    assert "action [1-" not in result.stderr
    assert [path for path, _ in server.requests] == ["/v1/sessions/call_x/stream"]


def test_server_text_in_answer_messages_cannot_drive_the_terminal(
    card_stream, run_cli, monkeypatch
):
    import io
    import sys

    server = card_stream(
        {
            "type": "tool_call",
            "toolCallId": "tc\x1b[31m",
            "card": {"title": "t", "actions": []},
        }
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    result = run_cli(
        "--base-url", server.url, "watch-events", "call_x", "--token", "sst_abcdefgh",
        "--answer", "--max-retries", "1",
    )  # fmt: skip

    assert "\x1b" not in result.stderr
    assert "tc\\x1b[31m" in result.stderr
