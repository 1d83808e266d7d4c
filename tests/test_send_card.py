"""send-card end to end: the CLI plays Retell against the real sandbox.

A `Listener` plays the widget's side of the stream in a thread. The
`counting_server` stands in for an API when a test must prove that nothing
was sent, or needs an answer the sandbox never gives.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from powsoo_cli.client import PowsooClient
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.models import ResultRequest, VoiceToken
from powsoo_cli.sandbox.server import start_in_thread
from powsoo_cli.sandbox.state import SandboxConfig
from powsoo_cli.sse import SSEDecoder

ORIGIN = "https://shop.example"
CARD = {
    "title": "Check your details",
    "description": "We heard this:",
    "fields": [
        {"label": "Email", "value": "jane@exmaple.org", "type": "email"},
        {
            "label": "Plan",
            "type": "select",
            "options": [
                {"id": "basic", "label": "Basic"},
                {"id": "pro", "label": "Pro"},
            ],
        },
    ],
    "actions": [
        {"label": "Confirm", "value": "confirm", "style": "primary"},
        {"label": "Skip", "value": "skip"},
    ],
}


def mint(url: str) -> VoiceToken:
    with PowsooClient(url) as client:
        return client.mint_voice_token("wid_demo", ORIGIN).body


class Listener:
    """A minted call whose stream is read in a thread, as the widget does."""

    def __init__(self, url: str) -> None:
        self.url = url
        minted = mint(url)
        self.call_id = minted.callId
        self.token = minted.sessionToken
        self.cards: queue.Queue[dict[str, Any]] = queue.Queue()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        assert self._ready.wait(5), "the stream never sent ready"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _read(self) -> None:
        decoder = SSEDecoder()
        with (
            PowsooClient(self.url) as client,
            client.open_stream(self.call_id, self.token, read_timeout=5) as response,
        ):
            for chunk in response.iter_bytes():
                for message in decoder.feed(chunk):
                    event = json.loads(message.data)
                    if event.get("type") == "ready":
                        self._ready.set()
                    elif "card" in event:
                        self.cards.put(event)
                if self._stop.is_set():  # heartbeats come every 0.2 s
                    return

    def next_card(self) -> dict[str, Any]:
        return self.cards.get(timeout=10)

    def answer(self, tool_call_id: str, result: dict[str, Any]) -> None:
        request = ResultRequest.model_validate(
            {"toolCallId": tool_call_id, "result": result}
        )
        with PowsooClient(self.url) as client:
            client.post_result(self.call_id, self.token, request)


@pytest.fixture
def listener(sandbox) -> Iterator[Listener]:
    with Listener(sandbox.url) as running:
        yield running


class CountingServer:
    """Counts connections and answers each with one canned HTTP response."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(2)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                conn.sendall(self.response)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


def canned(status: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
    ).encode() + payload


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer(canned("500 Internal Server Error", {"ok": False}))
    yield server
    server.close()


def send(run_cli, url: str, call_id: str, *args: str) -> Any:
    return run_cli("--base-url", url, "send-card", call_id, *args)


def write(tmp_path: Path, data: bytes | str, name: str = "card.json") -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


# The round trip


def test_send_card_prints_exactly_the_result_that_post_result_posted(
    sandbox, listener, run_cli
):
    card_flags = ["--title", "Your email", "--field", "Email=jane@exmaple.org"]
    card_flags += ["--field-type", "Email=email", "--action", "Confirm=confirm:primary"]
    cli = [sys.executable, "-m", "powsoo_cli", "--base-url", sandbox.url]
    sender = subprocess.Popen(
        [*cli, "send-card", listener.call_id, *card_flags, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        event = listener.next_card()
        target = ["--base-url", sandbox.url, "post-result", listener.call_id]
        target += ["--token", listener.token, "-t", event["toolCallId"]]
        answer = ["-a", "confirm", "-f", "Email=jane@example.org", "-e", "Email"]
        posted = run_cli(*target, *answer)
        stdout, stderr = sender.communicate(timeout=20)
    finally:
        sender.kill()

    assert posted.exit_code == ExitCode.SUCCESS, posted.stderr
    assert "result accepted" in posted.stderr
    assert sender.returncode == ExitCode.SUCCESS, stderr
    assert event["card"]["fields"][0] == {
        "label": "Email",
        "value": "jane@exmaple.org",
        "type": "email",
        "editable": True,
    }
    assert json.loads(json.loads(stdout)["result"]) == {
        "status": "edited",
        "action": "confirm",
        "fields": {"Email": "jane@example.org"},
        "edited": ["Email"],
    }
    assert "edited answer after" in stderr


def test_a_card_file_is_sent_unchanged_and_the_answer_is_shown_readably(
    sandbox, listener, run_cli, tmp_path
):
    card_file = write(tmp_path, json.dumps(CARD))
    answer = {
        "status": "confirmed",
        "action": "confirm",
        "fields": {"Email": "jane@exmaple.org", "Plan": "pro"},
        "edited": [],
    }
    seen: list[dict[str, Any]] = []

    def widget() -> None:
        event = listener.next_card()
        seen.append(event)
        listener.answer(event["toolCallId"], answer)

    answering = threading.Thread(target=widget)
    answering.start()
    result = send(run_cli, sandbox.url, listener.call_id, "--card", card_file)
    answering.join(10)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert seen[0]["card"]["title"] == CARD["title"]
    assert seen[0]["card"]["actions"] == CARD["actions"]
    assert seen[0]["card"]["fields"][1]["options"] == CARD["fields"][1]["options"]
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["status", "confirmed"]
    assert lines[1].split() == ["action", "confirm"]
    assert "Plan" in result.stdout and "pro" in result.stdout
    raw = next(line for line in lines if line.startswith("raw"))
    assert json.loads(raw.removeprefix("raw").strip()) == answer
    assert "confirmed answer after" in result.stderr


def test_a_card_is_read_from_stdin_with_a_dash(sandbox, listener, run_cli, monkeypatch):
    import io

    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(CARD).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)

    def widget() -> None:
        event = listener.next_card()
        listener.answer(event["toolCallId"], {"status": "skipped", "action": "skip"})

    answering = threading.Thread(target=widget)
    answering.start()
    result = send(run_cli, sandbox.url, listener.call_id, "--card", "-", "--json")
    answering.join(10)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert json.loads(json.loads(result.stdout)["result"]) == {
        "status": "skipped",
        "action": "skip",
        "edited": [],
    }


# Failures the API reports


def test_without_a_listening_widget_the_webhook_404_is_explained(sandbox, run_cli):
    minted = mint(sandbox.url)

    result = send(run_cli, sandbox.url, minted.callId, "--title", "Hi", "-a", "OK=ok")

    assert result.exit_code == ExitCode.PROBLEM
    assert result.stdout == ""
    assert "(HTTP 404)" in result.stderr
    assert f"no widget is listening for call {minted.callId}" in result.stderr
    assert "powsoo watch-events" in result.stderr


def test_an_unanswered_card_ends_in_the_504_of_the_hold_window(run_cli):
    # A sandbox of its own, with a hold window shorter than the shared one.
    config = SandboxConfig(heartbeat_interval=0.1, hold_timeout=0.5)
    with start_in_thread(config) as sandbox, Listener(sandbox.url) as listener:
        result = send(
            run_cli, sandbox.url, listener.call_id, "--title", "Anyone?", "-a", "OK=ok"
        )
        card = listener.next_card()

    assert card["card"]["title"] == "Anyone?"
    assert result.exit_code == ExitCode.PROBLEM
    assert "widget_timeout (HTTP 504)" in result.stderr
    assert "nobody answered the card" in result.stderr
    assert "powsoo post-result" in result.stderr


def test_a_wait_shorter_than_the_hold_window_ends_with_its_own_message(
    sandbox, listener, run_cli
):
    quick = ("--title", "Quick", "--action", "OK=ok", "--wait", "0.3")
    result = send(run_cli, sandbox.url, listener.call_id, *quick)

    assert result.exit_code == ExitCode.PROBLEM
    assert "no answer within --wait 0.3 s" in result.stderr
    assert "may still be pending" in result.stderr
    # It is: the card can still be answered, which also frees the sandbox.
    late = {"status": "confirmed", "action": "ok"}
    listener.answer(listener.next_card()["toolCallId"], late)


def test_a_400_from_the_api_shows_its_message(run_cli):
    server = CountingServer(
        canned(
            "400 Bad Request",
            {"ok": False, "error": {"code": "invalid_request", "message": "bad args"}},
        )
    )
    try:
        result = send(run_cli, server.url, "call_1", "--title", "Hi", "-a", "OK=ok")
    finally:
        server.close()

    assert result.exit_code == ExitCode.PROBLEM
    assert "invalid_request (HTTP 400): bad args" in result.stderr
    assert server.connections == 1


def test_suspicious_but_legal_cards_are_sent_with_warnings(run_cli, tmp_path):
    server = CountingServer(
        canned("404 Not Found", {"ok": False, "error": {"code": "session_not_found"}})
    )
    card = {
        "title": "Twice",
        "fields": [{"label": "A"}, {"label": "A", "colour": "red"}],
        "actions": [{"label": "OK", "value": "ok"}],
    }
    card_file = write(tmp_path, json.dumps(card))
    try:
        result = send(run_cli, server.url, "call_1", "--card", card_file)
    finally:
        server.close()

    assert server.connections == 1
    assert "warning: fields[1].colour: not part of the card schema" in result.stderr
    assert "the label 'A' is used twice" in result.stderr


# Nothing is sent when the card is wrong

INVALID_CARDS = {
    "no title": (
        {"actions": [{"label": "OK", "value": "ok"}]},
        "title: required",
    ),
    "blank title": (
        {"title": "  ", "actions": [{"label": "OK", "value": "ok"}]},
        "title: must not be empty",
    ),
    "no actions": ({"title": "T"}, "actions: required"),
    "empty actions": ({"title": "T", "actions": []}, "actions: needs at least one"),
    "action without value": (
        {"title": "T", "actions": [{"label": "A", "value": "a"}, {"label": "B"}]},
        "actions[1].value: required",
    ),
    "numeric action label": (
        {"title": "T", "actions": [{"label": 3, "value": "a"}]},
        "actions[0].label: must be a string, not a number",
    ),
    "unknown style": (
        {"title": "T", "actions": [{"label": "A", "value": "a", "style": "red"}]},
        "actions[0].style: must be one of primary, secondary, danger; got 'red'",
    ),
    "unknown field type": (
        {
            "title": "T",
            "fields": [{"label": "When", "type": "time"}],
            "actions": [{"label": "A", "value": "a"}],
        },
        "fields[0].type: must be one of text, email",
    ),
    "select without options": (
        {
            "title": "T",
            "fields": [{"label": "Plan", "type": "select"}],
            "actions": [{"label": "A", "value": "a"}],
        },
        "fields[0].options: a select field needs at least one option",
    ),
    "option without id": (
        {
            "title": "T",
            "fields": [
                {"label": "P", "type": "multiselect", "options": [{"label": "x"}]}
            ],
            "actions": [{"label": "A", "value": "a"}],
        },
        "fields[0].options[0].id: required",
    ),
    "editable as text": (
        {
            "title": "T",
            "fields": [{"label": "P", "editable": "no"}],
            "actions": [{"label": "A", "value": "a"}],
        },
        "fields[0].editable: must be true or false, not a string",
    ),
    "array instead of card": ([1, 2], "card: must be a JSON object, not an array"),
}


@pytest.mark.parametrize("name", list(INVALID_CARDS))
def test_a_card_that_breaks_the_schema_is_refused_before_sending(
    name, counting_server, run_cli, tmp_path
):
    card, problem = INVALID_CARDS[name]

    card_file = write(tmp_path, json.dumps(card))

    result = send(run_cli, counting_server.url, "call_1", "--card", card_file)

    assert result.exit_code == ExitCode.USAGE
    assert problem in result.stderr
    assert counting_server.connections == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            '{"title": "T",\n "actions": [}',
            "card.json:2:14: the card is not valid JSON",
        ),
        (b'{"title": "\xff"}', "card.json:1:12: the card is not UTF-8 text"),
        (b"", "card.json: the card is empty"),
        ("\n  \n", "card.json: the card is empty"),
        (b" " * (1024 * 1024 + 1), "larger than 1 MiB"),
        ('{"title": "a", "title": "b"}', "the key 'title' appears twice"),
    ],
)
def test_an_unreadable_card_file_is_refused_before_sending(
    content, problem, counting_server, run_cli, tmp_path
):
    card_file = write(tmp_path, content)

    result = send(run_cli, counting_server.url, "call_1", "--card", card_file)

    assert result.exit_code == ExitCode.USAGE
    assert problem in result.stderr
    assert counting_server.connections == 0


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        ((), "no card given"),
        (("--title", "T"), "the card needs at least one --action"),
        (("--title", "T", "--action", "OK"), "--action 'OK': the value is missing"),
        (("--title", "T", "--action", "OK=ok:loud"), "unknown style 'loud'"),
        (
            ("--title", "T", "--action", "OK=ok", "--field-type", "Email=email"),
            "--field-type names the field 'Email', which no --field defines",
        ),
        (("--title", "", "--action", "OK=ok"), "title: must not be empty"),
        (
            ("--card", "card.json", "--title", "T"),
            "--card gives the whole card; drop --title",
        ),
        (("--card", "/nonexistent/card.json"), "no such file"),
    ],
)
def test_bad_quick_flags_are_refused_before_sending(
    flags, problem, counting_server, run_cli
):
    result = send(run_cli, counting_server.url, "call_1", *flags)

    assert result.exit_code == ExitCode.USAGE
    assert problem in result.stderr
    assert counting_server.connections == 0


def test_the_embedded_sandbox_is_refused_because_nobody_could_listen(run_cli):
    result = run_cli(
        "--env", "sandbox", "send-card", "call_1", "--title", "T", "--action", "A=a"
    )

    assert result.exit_code == ExitCode.USAGE
    assert "embedded sandbox starts empty" in result.stderr
    assert "powsoo sandbox" in result.stderr
