"""``diagnose --from FILE``: a fleet of widgets, with shards for CI matrices.

The file holds one widget per line: ``WIDGET ORIGIN`` or ``WIDGET,ORIGIN``,
optionally followed by a page URL; or a CSV whose header names the columns
``widget``, ``origin`` and ``page`` (origin or page may be empty, not both).
Blank lines and lines starting with ``#`` are ignored. Every line is checked
before anything is sent.

``--shard I/N`` keeps the entries whose position in the file (counting
entries, not comment lines, from 0) is I-1 modulo N: the N shards are
disjoint, cover the file, and stay the same while the file does.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from powsoo_cli.errors import UsageError
from powsoo_cli.origins import OriginError, parse_origin

_WIDGET = re.compile(r"wid_[A-Za-z0-9]+")
_COLUMNS = ("widget", "origin", "page")
ResultT = TypeVar("ResultT")
# How long an interrupted batch waits for diagnoses in flight to let go.
GRACE_SECONDS = 1.5
SIGNAL_CHECK_SECONDS = 0.1


@dataclass(frozen=True)
class Entry:
    line: int  # 1-based line number in the file, for messages
    widget: str
    origin: str | None
    page: str | None


def _check_fields(
    where: str, fields: list[str], default_origin: str | None
) -> tuple[str, str | None, str | None]:
    widget, origin, page = [*fields, "", "", ""][:3]
    if not _WIDGET.fullmatch(widget):
        raise UsageError(
            f"{where}: {widget!r} is not a widget id (ids look like wid_demo)"
        )
    if origin:
        try:
            origin = str(parse_origin(origin))
        except OriginError as exc:
            raise UsageError(f"{where}: {exc}") from None
    if page:
        try:
            parts = urlsplit(page)
        except ValueError:  # an unclosed IPv6 bracket, say
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"{where}: the page {page!r} is not an http(s) URL")
    if not origin and not page:
        if default_origin is None:
            raise UsageError(
                f"{where}: {widget} has no origin",
                hint="add one on the line, or give a default with --origin",
            )
        origin = default_origin
    return widget, origin or None, page or None


def _split(line: str) -> list[str]:
    """Comma-separated (CSV quoting allowed), else whitespace-separated."""
    if "," in line:
        return [field.strip() for field in next(csv.reader([line]))]
    return line.split()


def read_entries(
    text: str, name: str, default_origin: str | None = None
) -> list[Entry]:
    """Parse the whole file; raises `UsageError` naming the first bad line."""
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    columns: tuple[str, ...] = _COLUMNS
    if lines:
        first = [f.strip().lower() for f in _split(lines[0][1])]
        if first and first[0] in _COLUMNS:
            unknown = [f for f in first if f not in _COLUMNS]
            if unknown or "widget" not in first:
                raise UsageError(
                    f"{name}:{lines[0][0]}: unknown header column(s) "
                    f"{', '.join(unknown) or '(no widget column)'}",
                    hint="the header may name widget, origin and page",
                )
            columns = tuple(first)
            lines = lines[1:]

    entries = []
    for number, line in lines:
        raw = _split(line)
        if len(raw) > len(columns):
            raise UsageError(
                f"{name}:{number}: {len(raw)} fields, expected at most "
                f"{len(columns)} ({', '.join(columns)})"
            )
        by_name = dict(zip(columns, raw, strict=False))
        fields = [by_name.get(column, "") for column in _COLUMNS]
        widget, origin, page = _check_fields(f"{name}:{number}", fields, default_origin)
        entries.append(Entry(number, widget, origin, page))
    return entries


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` with 1 <= I <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None:
        raise UsageError(
            f"--shard {text!r} is not I/N",
            hint="e.g. --shard 2/4 for the second of four shares",
        )
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: I must be between 1 and N")
    return index, count


def shard(entries: Sequence[Entry], index: int, count: int) -> list[Entry]:
    return [e for position, e in enumerate(entries) if position % count == index - 1]


def run_all(
    entries: Sequence[Entry],
    work: Callable[[Entry], ResultT],
    concurrency: int,
    cancelled: threading.Event | None = None,
) -> list[ResultT]:
    """``work`` for every entry, at most ``concurrency`` at once, in file order.

    On Ctrl-C, entries not started are dropped and ``cancelled`` is set for
    the ones in flight.
    """
    pool = ThreadPoolExecutor(max(1, concurrency), "powsoo-widget")
    futures = [pool.submit(work, entry) for entry in entries]
    try:
        # Short waits: a blocked main thread would not run the Ctrl-C handler.
        while wait(futures, timeout=SIGNAL_CHECK_SECONDS).not_done:
            pass
        found = [future.result() for future in futures]
    except BaseException:
        if cancelled is not None:
            cancelled.set()
        pool.shutdown(wait=False, cancel_futures=True)
        wait(futures, timeout=GRACE_SECONDS)
        raise
    pool.shutdown()
    return found
