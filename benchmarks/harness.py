"""What every benchmark shares: child processes, clocks, statistics, the table.

The machine is shared and noisy, so no figure here is an absolute time: a
candidate and its baseline run side by side, round by round, in rotating
order, and each figure is the ratio of their medians.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
# Config and state folders of the measured children, empty and thrown away.
HOME = Path(tempfile.mkdtemp(prefix="powsoo-bench-"))
atexit.register(shutil.rmtree, HOME, ignore_errors=True)


@dataclass
class Row:
    """One line of the table."""

    figure: str
    measured: str
    against: str
    ratio: str
    target: str
    passed: bool | None  # None: for information, no target

    @property
    def result(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]


def powsoo() -> list[str]:
    """The installed console script, as a person runs it."""
    script = Path(sys.executable).with_name("powsoo")
    if script.is_file():
        return [str(script)]
    found = shutil.which("powsoo")
    return [found] if found else [sys.executable, "-m", "powsoo_cli"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of every measured child.

    No POWSOO_* setting or config file of the person running the benchmark
    leaks in, and PYTHONUNBUFFERED is dropped: it would turn every write of
    the baselines into a system call, which a normal shell does not do.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("POWSOO_") and name != "PYTHONUNBUFFERED"
    }
    env["POWSOO_CONFIG_DIR"] = str(HOME / "config")
    env["POWSOO_STATE_DIR"] = str(HOME / "state")
    env.update(extra)
    return env


class ChildFailed(RuntimeError):
    pass


def run_timed(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    *,
    expect: bytes = b"",
) -> float:
    """Wall seconds of one child, its output read through pipes.

    The child must exit 0 and print ``expect``: a fast wrong answer is no
    answer.
    """
    start = time.perf_counter()
    done = subprocess.run(
        args,
        env=env or child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or expect not in done.stdout:
        missing = "" if expect in done.stdout else f" without printing {expect!r}"
        raise ChildFailed(
            f"{' '.join(args)} exited {done.returncode}{missing}: "
            f"{done.stderr.decode(errors='replace').strip()[-500:]}"
        )
    return elapsed


def interleave(
    contenders: dict[str, Callable[[], float]], rounds: int
) -> dict[str, list[float]]:
    """Samples of each contender, taken in turns.

    The order rotates every round, so that neither side always runs right
    after the other, with its caches warm or its CPU busy.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(contenders[name]())
    return samples


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share between 0 and 1)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ratio_row(
    figure: str,
    candidate: Sequence[float],
    baseline: Sequence[float],
    baseline_name: str,
    limit: float,
    *,
    higher_is_better: bool = False,
    unit: Callable[[float], str] = ms,
) -> Row:
    """A row for "candidate is at most (or at least) LIMIT times baseline"."""
    ours, theirs = median(candidate), median(baseline)
    ratio = ours / theirs
    passed = ratio >= limit if higher_is_better else ratio <= limit
    sign = ">=" if higher_is_better else "<="
    return Row(
        figure,
        f"{unit(ours)} (n={len(candidate)})",
        f"{baseline_name}: {unit(theirs)}",
        f"{ratio:.2f}x",
        f"{sign} {limit:g}x",
        passed,
    )


def failed_row(figure: str, target: str, error: Exception) -> Row:
    """A row for a figure that could not be measured at all."""
    text = " ".join(str(error).split())
    return Row(figure, "not measured", text[:200], "-", target, False)


def format_table(rows: Sequence[Row], markdown: bool = False) -> str:
    head = ("figure", "measured", "against", "ratio", "target", "result")
    cells = [head] + [
        (r.figure, r.measured, r.against, r.ratio, r.target, r.result) for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in cells]
        lines.insert(1, "|" + "|".join(" --- " for _ in head) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def machine() -> str:
    """nproc, Python and the CPU model, for the record."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = sys.version.split()[0]
    return f"nproc {len(os.sched_getaffinity(0))}, Python {version}, {model}"
