"""The readable view of a diagnosis, and the summary of a batch.

One diagnosis: a header (widget, origin, API), a table of checks, then the
verdict panel with the cause or causes, their evidence and the fix, and the
request ids support needs to find the server's log lines. Every text from
the network is wrapped in `Text`, so none of it is read as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from powsoo_cli.diagnose.base import CheckResult
from powsoo_cli.diagnose.verdict import Cause, Diagnosis
from powsoo_cli.redact import redact
from powsoo_cli.render import safe

STATUS_LOOK = {
    "pass": ("✓ pass", "green"),
    "fail": ("✗ FAIL", "bold red"),
    "warn": ("! warn", "yellow"),
    "skipped": ("- skip", "dim"),
}
CERTAINTY_LOOK = {"confirmed": "", "likely": " (likely)", "possible": " (possible)"}


def _ms(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.1f} s"
    return f"{seconds * 1000:.0f} ms"


def header(diagnosis: Diagnosis) -> RenderableType:
    api = diagnosis.api_base_url + (" (sandbox)" if diagnosis.sandbox else "")
    rows = [
        ("widget", diagnosis.widget),
        ("origin", diagnosis.origin or "(unknown)"),
        ("API", api),
    ]
    if diagnosis.page:
        rows.append(("page", diagnosis.page))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in rows:
        grid.add_row(name, Text(value))
    return grid


def _shown(diagnosis: Diagnosis) -> list[CheckResult]:
    """Every check, except page checks skipped because no page was given."""
    return [
        c
        for c in diagnosis.checks
        if diagnosis.page or not (c.id.startswith("page.") and c.status == "skipped")
    ]


def checks_table(checks: Sequence[CheckResult]) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True, style="bold")
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold", ratio=1)
    for check in checks:
        word, style = STATUS_LOOK[check.status]
        time = "" if check.status == "skipped" else _ms(check.duration)
        table.add_row(
            Text(word, style=style),
            Text(check.title),
            Text(time, style="dim"),
            Text(
                safe(redact(check.detail)),
                style="dim" if check.status == "skipped" else "",
            ),
        )
    return table


def _cause_lines(cause: Cause, number: int) -> list[RenderableType]:
    heading = Text.assemble(
        (f"{number}. ", "bold"),
        (cause.code, "bold cyan"),
        f"  {cause.title}{CERTAINTY_LOOK[cause.certainty]}",
    )
    # A grid keeps wrapped evidence and fix lines under their own text.
    facts = Table.grid(padding=(0, 1))
    facts.add_column(no_wrap=True)
    facts.add_column(overflow="fold")
    for item in cause.evidence:
        facts.add_row(Text("  ·", style="dim"), Text(safe(redact(item)), style="dim"))
    if cause.fix:
        facts.add_row(Text("  fix:", style="bold"), Text(safe(redact(cause.fix))))
    return [heading, facts]


def verdict_panel(diagnosis: Diagnosis) -> Panel:
    if diagnosis.healthy:
        body: list[RenderableType] = [
            Text(
                "Every check passed: the widget should work from this origin.",
                style="green",
            )
        ]
        warned = [c.title for c in diagnosis.checks if c.status == "warn"]
        if warned:
            body.append(Text("Worth a look: " + ", ".join(warned), style="yellow"))
        return Panel(
            Group(*body),
            title=Text("verdict: healthy", style="bold green"),
            title_align="left",
            border_style="green",
        )

    alternatives = diagnosis.alternatives
    body = []
    if len(alternatives) > 1:
        body.append(
            Text(
                "The evidence cannot tell these apart (most likely first):",
                style="bold",
            )
        )
    for number, cause in enumerate(diagnosis.causes, start=1):
        if number == len(alternatives) + 1:
            body.append(Text(""))
            body.append(Text("Also found:", style="bold"))
        body += _cause_lines(cause, number)
    title = " or ".join(c.code for c in alternatives)
    return Panel(
        Group(*body),
        title=Text(f"verdict: {title}", style="bold red"),
        title_align="left",
        border_style="red",
    )


def request_ids(diagnosis: Diagnosis) -> RenderableType | None:
    rows = [(c.id, ", ".join(c.request_ids)) for c in diagnosis.checks if c.request_ids]
    if not rows:
        return None
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold", style="dim")
    for check_id, ids in rows:
        grid.add_row(check_id, ids)
    return Group(Text("request ids (for the server logs)", style="bold"), grid)


def diagnosis_view(diagnosis: Diagnosis) -> RenderableType:
    parts: list[RenderableType] = [
        header(diagnosis),
        Text(""),
        checks_table(_shown(diagnosis)),
    ]
    if not diagnosis.page:
        parts.append(Text("page checks: pass --page URL to run them", style="dim"))
    parts += [Text(""), verdict_panel(diagnosis)]
    if diagnosis.web_call_created:
        parts.append(
            Text(
                "note: the mint created a real web call upstream; it may count "
                "against the plan's call cap",
                style="yellow",
            )
        )
    ids = request_ids(diagnosis)
    if ids is not None:
        parts += [Text(""), ids]
    footer = f"{_ms(diagnosis.duration)} in all"
    parts.append(Text(footer, style="dim"))
    return Group(*parts)


def batch_view(diagnoses: Sequence[Diagnosis]) -> RenderableType:
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("widget", no_wrap=True, style="bold")
    table.add_column("origin", overflow="fold")
    table.add_column("verdict", overflow="fold")
    table.add_column("time", justify="right", no_wrap=True)
    for d in diagnoses:
        verdict = " or ".join(c.code for c in d.alternatives) or "healthy"
        table.add_row(
            Text(d.widget),
            Text(d.origin or d.page or "-"),
            Text(verdict, style="green" if d.healthy else "bold red"),
            Text(_ms(d.duration), style="dim"),
        )
    parts: list[RenderableType] = [table]
    unhealthy = [d for d in diagnoses if not d.healthy]
    if unhealthy:
        parts.append(Text(""))
    for d in unhealthy:
        cause = d.causes[0]
        parts.append(
            Text.assemble(
                (f"{d.widget} @ {d.origin or d.page or '-'}", "bold"),
                ": ",
                (cause.code, "red"),
                f" — {redact(cause.fix)}",
            )
        )
    healthy = sum(d.healthy for d in diagnoses)
    parts.append(Text(""))
    parts.append(
        Text(f"{healthy} of {len(diagnoses)} healthy", style="bold"),
    )
    return Group(*parts)
