"""Views of the two origin-gated calls: the embed config and a minted token."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from powsoo_cli.models import EmbedConfig, VoiceToken
from powsoo_cli.redact import shorten
from powsoo_cli.render import safe


def key_value_table(rows: list[tuple[str, RenderableType]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def _plain(value: Any) -> Text:
    if value is None:
        return Text("(none)", style="dim")
    if isinstance(value, dict):
        if not value:
            return Text("{}", style="dim")
        parts = [f"{safe(str(k))}={_flat(v)}" for k, v in value.items()]
        return Text(", ".join(parts))
    return Text(_flat(value))


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return safe(value)
    return safe(json.dumps(value, ensure_ascii=False))


def config_view(widget_id: str, origin: str, config: EmbedConfig) -> RenderableType:
    title = Text.assemble(
        ("Widget ", "bold"),
        (widget_id, "bold cyan"),
        (" as seen from ", ""),
        (origin, "bold"),
    )
    rows: list[tuple[str, RenderableType]] = [
        ("platform", _plain(config.platform)),
        ("mode", _plain(config.mode)),
        ("agent", _plain(config.agent)),
        ("theme", _plain(config.theme)),
    ]
    if config.widgetId and config.widgetId != widget_id:
        rows.insert(0, ("widgetId", Text(safe(config.widgetId), style="yellow")))
    for key, value in (config.model_extra or {}).items():
        rows.append((safe(key), _plain(value)))
    return Group(title, key_value_table(rows))


def describe_expiry(expires_at: datetime, now: datetime | None = None) -> Text:
    now = now or datetime.now(timezone.utc)
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    seconds = (expires_at - now).total_seconds()
    stamp = expires_at.astimezone(timezone.utc).isoformat(timespec="seconds")
    if seconds <= 0:
        return Text(f"{stamp} (already expired)", style="bold red")
    minutes, rest = divmod(int(seconds), 60)
    return Text(f"{stamp} (in {minutes} min {rest:02d} s)")


def token_view(token: VoiceToken, *, show_secrets: bool) -> RenderableType:
    def secret(value: str) -> Text:
        return Text(value if show_secrets else shorten(value))

    platform_style = "" if token.platform == "retell" else "yellow"
    rows: list[tuple[str, RenderableType]] = [
        ("platform", Text(safe(token.platform), style=platform_style)),
        ("callId", Text(safe(token.callId))),
        ("expiresAt", describe_expiry(token.expiresAt)),
        ("sessionToken", secret(token.sessionToken)),
        ("accessToken", secret(token.accessToken)),
    ]
    for key, value in (token.model_extra or {}).items():
        rows.append((safe(key), _plain(value)))
    return key_value_table(rows)
