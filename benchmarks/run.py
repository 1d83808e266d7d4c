"""Run every powsoo benchmark and print one table of ratios against targets.

Usage: python benchmarks/run.py [--quick] [--only GROUP ...] [--markdown]

Each figure is measured side by side with its floor or comparison in the
same run (interleaved, medians of many repeats), never as an absolute time,
because the machine is shared and noisy. See benchmarks/README.md for what
each figure means. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable

import bench_api
import bench_diagnose
import bench_sandbox
import bench_startup
import bench_stream
from bench_sse_decoder import best_times, build_stream, chunked, run_httpx_sse, run_ours
from harness import ROOT, Row, failed_row, format_table, machine
from servers import standalone_sandbox, stream_server


def load() -> str:
    # Other work on the machine shows here; the ratios are meant to absorb it.
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def compile_bytecode() -> None:
    # pip compiles a package when it installs it; an editable install under
    # PYTHONDONTWRITEBYTECODE=1 would otherwise recompile on every start.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "powsoo_cli")],
        check=True,
    )


def decoder(quick: bool) -> list[Row]:
    """The existing decoder benchmark (bench_sse_decoder.py), data-only case."""
    events = 50_000 if quick else 200_000
    chunks = chunked(build_stream(events, with_fields=False))
    best = best_times(
        {"httpx-sse": run_httpx_sse, "powsoo": run_ours}, chunks, 3 if quick else 7
    )
    ratio = best["httpx-sse"] / best["powsoo"]
    return [
        Row(
            "decoder: SSEDecoder.feed, in process",
            f"{events / best['powsoo']:,.0f} ev/s",
            f"httpx-sse decoder: {events / best['httpx-sse']:,.0f} ev/s",
            f"{ratio:.2f}x",
            "(no target)",
            None,
        )
    ]


def plan(quick: bool) -> dict[str, list[tuple[str, str, Callable[[], list[Row]]]]]:
    """For each group: (figure, target, measure) in the order they run.

    Measures that need a server get it from `servers` when they run, so
    that a group that is not selected starts nothing.
    """

    def with_sandbox(measure: Callable[[str], list[Row]], *extra: str) -> list[Row]:
        with standalone_sandbox(*extra) as url:
            return measure(url)

    def with_stream(measure: Callable[[str, bool], list[Row]]) -> list[Row]:
        with stream_server() as url:
            return measure(url, quick)

    return {
        "startup": [("start-up", "<= 1.3x", lambda: bench_startup.run(quick))],
        "api": [
            (
                "one call",
                "<= 1.5x",
                lambda: with_sandbox(lambda url: bench_api.run(url, quick)),
            )
        ],
        "throughput": [
            (
                "stream throughput",
                ">= 0.6x",
                lambda: with_stream(bench_stream.throughput),
            )
        ],
        "latency": [
            ("stream latency", "< 5 ms", lambda: with_stream(bench_stream.latency))
        ],
        "memory": [
            ("stream memory", "<= +10 MiB", lambda: with_stream(bench_stream.memory))
        ],
        "diagnose": [
            (
                "diagnose, embedded",
                "<= 2x",
                lambda: bench_diagnose.embedded(quick),
            ),
            (
                "diagnose --from",
                "<= 10x",
                lambda: with_sandbox(lambda url: bench_diagnose.batch(url, quick)),
            ),
        ],
        "sandbox": [
            (
                "sandbox under load",
                "< 50 ms",
                lambda: with_sandbox(
                    lambda url: bench_sandbox.run(url, quick),
                    "--heartbeat-interval",
                    bench_sandbox.HEARTBEAT,
                ),
            )
        ],
        "decoder": [("decoder", "(no target)", lambda: decoder(quick))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and events: a smoke run"
    )
    parser.add_argument(
        "--only", action="append", choices=list(plan(False)), help="run only this group"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown"
    )
    args = parser.parse_args()

    compile_bytecode()
    print(
        "Compiled powsoo_cli to bytecode first (python -m compileall -q "
        "powsoo_cli),\nas pip does on install: this environment sets "
        "PYTHONDONTWRITEBYTECODE=1."
    )
    print(f"Machine: {machine()}")
    print(f"Mode: {'quick' if args.quick else 'full'}; {load()} at the start")

    rows: list[Row] = []
    started = time.perf_counter()
    for group, steps in plan(args.quick).items():
        if args.only and group not in args.only:
            continue
        for figure, target, measure in steps:
            began = time.perf_counter()
            try:
                rows.extend(measure())
            except Exception as exc:  # one broken figure must not hide the rest
                rows.append(failed_row(figure, target, exc))
            took = time.perf_counter() - began
            print(f"  {figure}: {took:.1f} s", file=sys.stderr, flush=True)

    took = time.perf_counter() - started
    print(f"\nAll measured in {took:.0f} s; {load()} at the end.\n")
    print(format_table(rows, markdown=args.markdown))
    sys.exit(1 if any(row.passed is False for row in rows) else 0)


if __name__ == "__main__":
    main()
