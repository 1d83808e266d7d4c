"""watch-events against a network that misbehaves in every way a stream can.

Each scenario gets its own raw-socket server on 127.0.0.1 (`tests.badserver`)
that plays one fault: drops every few events and resumes after
``Last-Event-ID``; drops in the middle of an event, also where only the
socket's close ends the body; stalls with the socket open; a proxy's HTML
502; the wrong content type; gzip, flushed per event or one gzip member per
event; a byte every 20 ms; a 70,000-byte data line; a 20 MB event, plain or
as a gzip bomb. The clocks are short (heartbeat 0.2 s, so a stream silent
for 0.6 s is dead; backoff base 0.01 s) so that the file takes seconds.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from powsoo_cli.exit_codes import ExitCode
from tests.badserver import (
    CLOSE,
    HOLD,
    BadServer,
    SeenRequest,
    Send,
    Step,
    chunk,
    html_page,
    response,
    sse_event,
    stream_head,
)

TOKEN = "sst_stream_faults_token"
CALL = "call_stream_faults"
HEARTBEAT = 0.2
STALL_AFTER = 3 * HEARTBEAT
DEFAULT_LIMIT = 1024 * 1024
# A CLI child process with httpx, pydantic and rich loaded peaks near 50 MiB.
RSS_CEILING_MIB = 150
# What a 1 MiB limit may cost above a run that sees two small events: far
# less than the 20 MB event would take if it were held even once.
RSS_MARGIN_MIB = 12


def note(number: int, text: str = "") -> dict[str, Any]:
    return {"type": "transcript", "n": number, "text": text or f"event {number}"}


def numbered(count: int) -> list[bytes]:
    """SSE frames with ids "1".."count", each a transcript event."""
    return [sse_event(note(n), event_id=str(n)) for n in range(1, count + 1)]


def open_stream(*frames: bytes) -> list[Step]:
    """A chunked event stream that sends ``frames`` and stays open."""
    return [stream_head(chunked=True), *(chunk(frame) for frame in frames)]


def whole_stream(*frames: bytes) -> list[Step]:
    """A chunked event stream that sends ``frames`` and ends properly."""
    return [*open_stream(*frames), chunk(b""), CLOSE]


@pytest.fixture
def serve() -> Iterator[Callable[..., BadServer]]:
    servers: list[BadServer] = []

    def start(*answers: Any) -> BadServer:
        servers.append(BadServer(*answers))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def watch_args(server: BadServer, *extra: str) -> list[str]:
    return [
        "--base-url", server.url, "watch-events", CALL, "--token", TOKEN,
        "--json", "--heartbeat-interval", str(HEARTBEAT),
        "--reconnect-delay", "0.01", *extra,
    ]  # fmt: skip


def watch(run_cli: Any, server: BadServer, *extra: str) -> Any:
    return run_cli(*watch_args(server, *extra))


def shown(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def resuming_after_last_event_id(
    frames: list[bytes], ids: list[str], per_connection: int
) -> Callable[[SeenRequest], list[Step]]:
    """An answer that resumes after Last-Event-ID and drops the connection
    after ``per_connection`` events, until the last event has been sent."""

    def answer(request: SeenRequest) -> list[Step]:
        after = request.headers.get("last-event-id")
        start = 0 if after is None else ids.index(after) + 1
        batch = frames[start : start + per_connection]
        if start + per_connection >= len(frames):
            return whole_stream(*batch)
        # No closing chunk: the body is cut short, as when a proxy drops it.
        return [*open_stream(*batch), CLOSE]

    return answer


# Drops, with and without a half-sent event


def test_drops_every_four_events_lose_and_repeat_nothing_when_the_server_resumes(
    serve, run_cli
):
    frames = numbered(30)
    ids = [str(n) for n in range(1, 31)]
    server = serve(resuming_after_last_event_id(frames, ids, per_connection=4))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["_id"] for item in shown(result.stdout)] == ids
    assert [item["n"] for item in shown(result.stdout)] == list(range(1, 31))
    # 30 events, 4 a connection: 8 connections, 7 drops, 7 reconnects.
    sent = [request.headers.get("last-event-id") for request in server.requests]
    assert sent == [None, "4", "8", "12", "16", "20", "24", "28"]
    assert result.stderr.count("the stream broke off") == 7
    assert result.stderr.count("reconnected after") == 7
    for last in sent[1:]:
        assert f"resume after id '{last}'" in result.stderr


def test_a_drop_in_the_middle_of_an_event_drops_that_event_and_says_so(serve, run_cli):
    # The half-sent event carries id 3: its id must not count either, or the
    # server would be asked to resume after an event nobody saw.
    half = b'id: 3\ndata: {"type":"transcript","n":3,"text":"hal'
    server = serve(
        [*open_stream(*numbered(2), half), CLOSE],
        lambda request: whole_stream(*numbered(4)[2:]),
    )

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1, 2, 3, 4]
    assert all(item["text"] != "hal" for item in shown(result.stdout))
    assert server.requests[1].headers["last-event-id"] == "2"
    assert "the stream broke off" in result.stderr
    assert f"unfinished event ({len(half) - 6} bytes) was discarded" in result.stderr
    assert "reconnected after" in result.stderr


def test_a_body_that_ends_at_close_in_the_middle_of_an_event_is_a_drop_not_the_end(
    serve, run_cli
):
    # Without chunked framing or a length, only the socket's close ends the
    # body, so a drop looks like a clean end, except for the half event.
    half = b'id: 3\ndata: {"type":"transcript","n":3,"te'
    server = serve(
        [stream_head(), *numbered(2), half, CLOSE],
        [stream_head(), *numbered(4)[2:], CLOSE],
    )

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1, 2, 3, 4]
    assert len(server.requests) == 2
    assert server.requests[1].headers["last-event-id"] == "2"
    assert "ended in the middle of an event" in result.stderr
    assert "was discarded" in result.stderr
    assert "reconnected after" in result.stderr


def test_with_no_reconnect_an_end_in_the_middle_of_an_event_is_an_error(serve, run_cli):
    server = serve([stream_head(), *numbered(2), b"data: {", CLOSE])

    result = watch(run_cli, server, "--no-reconnect")

    assert result.exit_code == ExitCode.UNREACHABLE
    assert [item["n"] for item in shown(result.stdout)] == [1, 2]
    assert len(server.requests) == 1
    assert "ended in the middle of an event" in result.stderr


def test_a_body_that_ends_at_close_between_events_is_the_end_of_the_call(
    serve, run_cli
):
    server = serve([stream_head(), *numbered(2), CLOSE])

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1, 2]
    assert len(server.requests) == 1
    assert "the call or its session is over" in result.stderr


# Silence, error pages, the wrong kind of answer


@pytest.mark.parametrize("half", [b"", b'data: {"type":"transcript","n":3'])
def test_a_stream_silent_for_three_heartbeats_with_the_socket_open_is_reopened(
    serve, run_cli, half
):
    frames = numbered(2) + ([half] if half else [])
    server = serve(
        [*open_stream(*frames), HOLD],
        lambda request: whole_stream(*numbered(3)[2:]),
    )

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1, 2, 3]
    assert len(server.requests) == 2
    assert server.requests[1].headers["last-event-id"] == "2"
    assert "the event stream sent nothing for" in result.stderr
    assert "reconnected after" in result.stderr
    discarded = f"unfinished event ({len(half)} bytes) was discarded"
    assert (discarded in result.stderr) == bool(half)


def test_an_html_502_from_a_proxy_is_one_clear_line_and_a_retry(serve, run_cli):
    server = serve(html_page(502, "502 Bad Gateway"), whole_stream(*numbered(2)))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1, 2]
    assert len(server.requests) == 2
    [line] = [line for line in result.stderr.splitlines() if "502" in line]
    assert "HTML page titled '502 Bad Gateway'" in line
    assert "reconnecting in" in line
    assert "<" not in result.stderr


def test_a_200_html_page_instead_of_a_stream_stops_with_exit_1_and_no_events(
    serve, run_cli
):
    page = "<!DOCTYPE html><html><body>Sign in</body></html>"
    server = serve(response(200, page, content_type="text/html; charset=utf-8"))

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.PROBLEM
    assert result.stdout == ""
    assert len(server.requests) == 1
    assert "'text/html; charset=utf-8', not text/event-stream" in result.stderr
    assert "reconnecting" not in result.stderr


# Encodings and pacing


def gzip_frames(*frames: bytes) -> list[bytes]:
    """``frames`` as one gzip stream, flushed after each frame so that each
    event can be decoded as soon as its bytes arrive."""
    packer = zlib.compressobj(wbits=31)
    return [
        packer.compress(frame) + packer.flush(zlib.Z_SYNC_FLUSH) for frame in frames
    ]


def test_a_gzip_encoded_stream_is_decoded_event_by_event(serve, run_cli):
    frames = [*numbered(5), sse_event(note(6, "é ✓ " * 500), event_id="6")]
    packed = gzip_frames(*frames)
    head = stream_head(chunked=True, headers={"content-encoding": "gzip"})
    server = serve([head, *(chunk(part) for part in packed), HOLD])

    result = watch(run_cli, server, "--max-events", "6")

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert "gzip" in server.requests[0].headers.get("accept-encoding", "")
    events = shown(result.stdout)
    assert [item["_id"] for item in events] == ["1", "2", "3", "4", "5", "6"]
    assert events[5]["text"] == "é ✓ " * 500


@pytest.mark.parametrize(
    "wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw deflate"]
)
def test_a_deflate_encoded_stream_is_decoded_with_or_without_its_wrapper(
    serve, run_cli, wbits
):
    first, *rest = numbered(3)
    packer = zlib.compressobj(wbits=wbits)
    packed = [
        packer.compress(first) + packer.flush(zlib.Z_SYNC_FLUSH),
        packer.compress(b"".join(rest)) + packer.flush(),
    ]
    head = stream_head(chunked=True, headers={"content-encoding": "deflate"})
    server = serve([head, *map(chunk, packed), chunk(b""), CLOSE])

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1, 2, 3]


def test_a_body_that_is_not_the_gzip_it_claims_is_a_break_and_retried(serve, run_cli):
    head = stream_head(chunked=True, headers={"content-encoding": "gzip"})
    server = serve(
        [head, chunk(numbered(1)[0]), chunk(b""), CLOSE], whole_stream(*numbered(1))
    )

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1]
    assert "the gzip body could not be unpacked" in result.stderr
    assert "reconnecting in" in result.stderr


def test_a_gzip_body_packing_each_event_on_its_own_loses_none_of_them(serve, run_cli):
    # Concatenated gzip members are one valid gzip body (RFC 1952 2.2).
    members = [gzip.compress(frame) for frame in numbered(4)]
    head = stream_head(chunked=True, headers={"content-encoding": "gzip"})
    server = serve([head, *map(chunk, members), chunk(b""), CLOSE])

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["n"] for item in shown(result.stdout)] == [1, 2, 3, 4]


def test_a_byte_every_20_ms_is_parsed_whole_and_never_taken_for_a_stall(serve, run_cli):
    # Each event takes over twice the 0.6 s after which silence means a dead
    # stream to arrive: any byte counts as a sign of life.
    frames = [sse_event(note(n, f"drip {n}"), event_id=str(n)) for n in (1, 2)]
    assert min(len(frame) for frame in frames) * 0.02 > 2 * STALL_AFTER
    framed = b"".join(chunk(frame) for frame in frames) + chunk(b"")
    server = serve([stream_head(chunked=True), Send(framed, size=1, pause=0.02), CLOSE])

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    assert [item["text"] for item in shown(result.stdout)] == ["drip 1", "drip 2"]
    assert len(server.requests) == 1
    assert "sent nothing" not in result.stderr
    assert "reconnect" not in result.stderr


def test_a_70000_byte_data_line_arrives_intact_under_the_default_limit(serve, run_cli):
    text = "".join(chr(0x41 + n % 26) for n in range(70_000))
    frame = sse_event(note(1, text), event_id="1")
    # Uneven chunk sizes, so that the line is split anywhere.
    pieces = [frame[start : start + 7919] for start in range(0, len(frame), 7919)]
    server = serve([stream_head(chunked=True), *map(chunk, pieces), chunk(b""), CLOSE])

    result = watch(run_cli, server)

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    [event] = shown(result.stdout)
    assert event["text"] == text
    assert len(frame) < DEFAULT_LIMIT


# A 20 MB event, in a child process so that its memory can be measured

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the peak from /proc"
)

# Runs the CLI as ``python -m powsoo_cli`` would, then writes its own peak
# RSS (VmHWM) to the file named first. A child's getrusage() peak cannot be
# used: Linux carries the parent's peak over the exec into the child's.
MEASURED_CLI = """
import atexit, runpy, sys

def write_peak(path=sys.argv.pop(1)):
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")))

atexit.register(write_peak)
sys.argv[0] = "powsoo"
runpy.run_module("powsoo_cli", run_name="__main__", alter_sys=True)
"""


def run_measured(args: list[str], tmp_path: Path, timeout: float = 20) -> Any:
    """Run the CLI as a child: exit code, stdout, stderr and peak RSS in MiB."""
    peak_file = tmp_path / "peak"
    child = subprocess.run(
        [sys.executable, "-c", MEASURED_CLI, str(peak_file), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    kib = int(peak_file.read_text().split()[1])
    return child.returncode, child.stdout, child.stderr, kib / 1024


def peak_of_a_small_watch(serve: Callable[..., BadServer], tmp_path: Path) -> float:
    server = serve(whole_stream(*numbered(2)))
    (tmp_path / "small").mkdir()
    code, _, stderr, peak_mib = run_measured(watch_args(server), tmp_path / "small")
    assert code == ExitCode.SUCCESS, stderr
    return float(peak_mib)


def huge_event_stream(size: int) -> list[Step]:
    text = "z" * size
    frame = sse_event(note(2, text), event_id="2")
    return [*open_stream(*numbered(1)), chunk(frame), chunk(b""), CLOSE]


@needs_proc
def test_a_20_mb_event_stops_with_the_limit_named_and_memory_bounded(serve, tmp_path):
    baseline_mib = peak_of_a_small_watch(serve, tmp_path)
    server = serve(huge_event_stream(20_000_000))

    code, stdout, stderr, peak_mib = run_measured(watch_args(server), tmp_path)

    assert code == ExitCode.PROBLEM, stderr
    assert [item["n"] for item in shown(stdout)] == [1]
    assert f"larger than the limit of {DEFAULT_LIMIT} bytes" in stderr
    assert "--max-event-bytes" in stderr
    assert "Traceback" not in stderr
    assert len(server.requests) == 1
    assert peak_mib < RSS_CEILING_MIB
    assert peak_mib - baseline_mib < RSS_MARGIN_MIB


@needs_proc
def test_a_gzip_bomb_of_one_20_mb_event_is_stopped_with_memory_bounded(serve, tmp_path):
    # 20 MB of one letter packs into ~20 KB: a single network read would
    # unpack all of it at once unless the reader unpacks in bounded steps.
    baseline_mib = peak_of_a_small_watch(serve, tmp_path)
    frames = [*numbered(1), sse_event(note(2, "z" * 20_000_000), event_id="2")]
    head = stream_head(chunked=True, headers={"content-encoding": "gzip"})
    packed = gzip_frames(*frames)
    assert sum(map(len, packed)) < 100_000
    server = serve([head, *(chunk(part) for part in packed), chunk(b""), CLOSE])

    code, stdout, stderr, peak_mib = run_measured(watch_args(server), tmp_path)

    assert code == ExitCode.PROBLEM, stderr
    assert [item["n"] for item in shown(stdout)] == [1]
    assert f"larger than the limit of {DEFAULT_LIMIT} bytes" in stderr
    assert peak_mib < RSS_CEILING_MIB
    assert peak_mib - baseline_mib < RSS_MARGIN_MIB


@needs_proc
def test_a_20_mb_event_is_delivered_whole_once_the_limit_is_raised(serve, tmp_path):
    server = serve(huge_event_stream(20_000_000))

    code, stdout, stderr, _ = run_measured(
        watch_args(server, "--max-event-bytes", "30000000"), tmp_path
    )

    assert code == ExitCode.SUCCESS, stderr
    first, second = shown(stdout)
    assert first["n"] == 1
    assert second["_id"] == "2"
    assert len(second["text"]) == 20_000_000
    assert set(second["text"]) == {"z"}
