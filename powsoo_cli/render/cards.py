"""Views for send-card: the result string the LLM receives, read for a person."""

from __future__ import annotations

import json
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from powsoo_cli.render import safe
from powsoo_cli.render.calls import key_value_table

STATUS_STYLES = {"confirmed": "green", "edited": "cyan", "skipped": "yellow"}


def decode_result(raw: str) -> dict[str, Any] | None:
    """The result object inside the string, or None if it is not one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def raw_line(raw: str) -> Text:
    """The result string as the LLM gets it; print it with soft wrapping so
    that it stays one line that can be copied."""
    return Text.assemble(("raw  ", "bold"), (raw, ""))


def result_view(raw: str) -> RenderableType:
    """Status, action, fields and edited labels of the result string."""
    data = decode_result(raw)
    if data is None:
        return Text("the result is not a JSON object", style="yellow")

    status = data.get("status")
    rows: list[tuple[str, RenderableType]] = [
        ("status", Text(_text(status), style=STATUS_STYLES.get(str(status), "red"))),
        ("action", Text(_text(data.get("action")))),
    ]

    fields = data.get("fields")
    edited = data.get("edited")
    changed = set(edited) if isinstance(edited, list) else set()
    if isinstance(fields, dict) and fields:
        rows.append(("fields", _fields_table(fields, changed)))
    elif fields is not None:
        rows.append(("fields", Text(_text(fields), style="dim")))
    if isinstance(edited, list):
        shown = ", ".join(_text(label) for label in edited) or "(none)"
        rows.append(("edited", Text(shown, style="" if edited else "dim")))

    for key, value in data.items():
        if key not in {"status", "action", "fields", "edited"}:
            rows.append((safe(key), Text(_text(value), style="yellow")))
    return key_value_table(rows)


def _fields_table(fields: dict[str, Any], changed: set[Any]) -> RenderableType:
    table = key_value_table([])
    for label, value in fields.items():
        mark = Text(" (edited)", style="cyan") if label in changed else Text("")
        table.add_row(Text(safe(label), style=""), Text.assemble(_text(value), mark))
    return table


def _text(value: Any) -> str:
    if isinstance(value, str):
        return safe(value)
    return safe(json.dumps(value, ensure_ascii=False))


def card_summary(card: dict[str, Any]) -> str:
    """One line naming a card, for status and log lines."""
    count = len(card.get("fields") or [])
    fields = "no fields" if count == 0 else f"{count} field" + "s" * (count > 1)
    actions = ", ".join(str(action.get("value")) for action in card["actions"])
    return f"{card['title']!r} ({fields}; actions: {actions})"
