"""watch-events: throughput, latency and memory on a local event stream.

Every run reads a stream from the tiny server in `servers` (a child process
of its own), with the child's stdout a pipe that this process reads in big
chunks and throws away, counting lines.

- Throughput is events per second from the child's first byte of output to
  the end of its output, so that start-up (imports, connecting) is left out
  on both sides. The floor is a bare httpx-sse loop writing each event's
  data to the same kind of pipe.
- Latency is from the server stamping an event with ``time.time_ns()`` just
  before writing it to the moment its line is read here; both on this
  machine's clock.
- Memory is the peak RSS of the child, from ``os.wait4``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

from harness import (
    MIB,
    ChildFailed,
    Row,
    child_env,
    interleave,
    median,
    percentile,
    powsoo,
    ratio_row,
)

TOKEN = "sst_" + "b" * 32
MODES = {"json": ["--json"], "raw": ["--raw"], "view": []}
THROUGHPUT_LIMITS = {"json": 0.6, "raw": 0.6, "view": 0.3}
LATENCY_RATE = 200
LATENCY_LIMIT = 0.005
MEMORY_LIMIT = 10 * MIB
# The floor; with a third argument it flushes every line, as a watcher
# must when it is timed for latency rather than throughput.
BARE_HTTPX_SSE = """\
import sys
import httpx
from httpx_sse import connect_sse
headers = {"x-powsoo-session-token": sys.argv[2]}
flush = len(sys.argv) > 3
with httpx.Client(timeout=None) as client:
    with connect_sse(client, "GET", sys.argv[1], headers=headers) as source:
        for sse in source.iter_sse():
            sys.stdout.write(sse.data + "\\n")
            if flush:
                sys.stdout.flush()
"""
SENT = re.compile(rb'sent\\?":(\d+)')


@dataclass
class Consumed:
    lines: int
    streaming: float  # seconds from the first byte of output to the last
    peak_rss: int  # bytes


def watch_events(url: str, call: str, mode: str) -> list[str]:
    return [
        *powsoo(),
        "--base-url",
        url,
        "watch-events",
        call,
        "--token",
        TOKEN,
        "--no-reconnect",
        *MODES[mode],
    ]


def bare_httpx_sse(url: str, call: str, *flush: str) -> list[str]:
    stream = f"{url}/v1/sessions/{call}/stream"
    return [sys.executable, "-c", BARE_HTTPX_SSE, stream, TOKEN, *flush]


def label(args: Sequence[str]) -> str:
    if args[0] == sys.executable:
        return "bare httpx-sse"
    return " ".join(arg for arg in args[3:] if arg != TOKEN)


def consume(args: Sequence[str], expected_lines: int) -> Consumed:
    """Run a child, read its stdout to the end, and check it printed it all."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=child_env(),
        )
        assert process.stdout is not None
        fd = process.stdout.fileno()
        lines, first = 0, None
        while chunk := os.read(fd, 1024 * 1024):
            if first is None:
                first = time.perf_counter()
            lines += chunk.count(b"\n")
        end = time.perf_counter()
        process.stdout.close()
        # wait4, not wait: it also gives this one child's resource usage.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0 or lines != expected_lines:
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip()[-500:]
            raise ChildFailed(
                f"{label(args)}: exit "
                f"{process.returncode}, {lines} of {expected_lines} lines: {text}"
            )
    # ru_maxrss is in KiB on Linux.
    return Consumed(lines, end - (first or end), usage.ru_maxrss * 1024)


def rate(events: int) -> str:
    return f"{events:,.0f} ev/s"


def throughput(url: str, quick: bool) -> list[Row]:
    events = 50_000 if quick else 200_000
    call = f"bulk-{events}"

    def measure(args: list[str]) -> float:
        return events / consume(args, events).streaming

    contenders = {"bare": lambda: measure(bare_httpx_sse(url, call))}
    for mode in MODES:
        contenders[mode] = lambda m=mode: measure(watch_events(url, call, m))
    samples = interleave(contenders, rounds=2 if quick else 7)

    return [
        ratio_row(
            f"stream: {events:,} events, {shown}",
            samples[mode],
            samples["bare"],
            "bare httpx-sse",
            THROUGHPUT_LIMITS[mode],
            higher_is_better=True,
            unit=rate,
        )
        for mode, shown in (
            ("json", "--json"),
            ("raw", "--raw"),
            ("view", "view to a pipe"),
        )
    ]


def delays(args: Sequence[str], count: int) -> list[float]:
    """Seconds from each event's send stamp to its line arriving here."""
    process = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=child_env(),
    )
    assert process.stdout is not None
    found = []
    # A buffered reader hands over each line as soon as it is complete.
    for line in process.stdout:
        arrived = time.time_ns()
        match = SENT.search(line)
        if match:
            found.append((arrived - int(match.group(1))) / 1e9)
    process.stdout.close()
    if process.wait() != 0 or len(found) != count:
        raise ChildFailed(f"{label(args)}: {len(found)} of {count} stamped lines")
    return found


def latency(url: str, quick: bool) -> list[Row]:
    count = (3 if quick else 10) * LATENCY_RATE
    call = f"paced-{LATENCY_RATE}-{count}"
    samples = interleave(
        {
            "bare": lambda: percentile(
                delays(bare_httpx_sse(url, call, "flush"), count), 0.99
            ),
            "json": lambda: percentile(
                delays(watch_events(url, call, "json"), count), 0.99
            ),
        },
        rounds=1 if quick else 3,
    )
    ours, theirs = median(samples["json"]), median(samples["bare"])
    return [
        Row(
            f"latency: p99 at {LATENCY_RATE} ev/s, --json",
            f"{ours * 1000:.2f} ms (median of {len(samples['json'])} runs)",
            f"bare httpx-sse, flushing: {theirs * 1000:.2f} ms",
            f"{ours / LATENCY_LIMIT:.2f} of limit",
            f"< {LATENCY_LIMIT * 1000:g} ms",
            ours < LATENCY_LIMIT,
        )
    ]


def memory(url: str, quick: bool) -> list[Row]:
    small, large = 10_000, 200_000 if quick else 1_000_000
    rows = []
    for mode in MODES:
        peaks = {
            count: consume(watch_events(url, f"bulk-{count}", mode), count).peak_rss
            for count in (small, large)
        }
        growth = peaks[large] - peaks[small]
        rows.append(
            Row(
                f"memory: peak RSS, {large:,} events, {mode}",
                f"{peaks[large] / MIB:.1f} MiB",
                f"{small:,} events: {peaks[small] / MIB:.1f} MiB",
                f"{growth / MIB:+.1f} MiB",
                f"<= +{MEMORY_LIMIT // MIB} MiB",
                growth <= MEMORY_LIMIT,
            )
        )
    return rows
