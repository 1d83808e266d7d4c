"""Small pieces several commands share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from powsoo_cli.errors import UsageError
from powsoo_cli.runtime import GlobalOptions

if TYPE_CHECKING:
    from pydantic import SecretStr

    from powsoo_cli.session_store import SavedSession


def options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    assert isinstance(obj, GlobalOptions)
    return obj


def require_origin(opts: GlobalOptions, origin: str | None) -> str:
    """The origin from the flag, else from the settings, checked either way."""
    from powsoo_cli.params import check_origin

    if origin:
        return origin
    configured = opts.settings.origin
    if not configured:
        raise UsageError(
            "no origin given",
            hint="pass --origin https://your-site.example or set POWSOO_ORIGIN",
        )
    try:
        checked = check_origin(configured)
    except typer.BadParameter as exc:
        source = opts.loaded().sources["origin"]
        raise UsageError(f"the origin from {source} is invalid: {exc}") from None
    assert checked is not None
    return checked


@contextmanager
def diagnose_hint(opts: GlobalOptions, widget: str, origin: str) -> Iterator[None]:
    """Point a hidden 404 at the command that finds its real reason."""
    from powsoo_cli.errors import ApiError

    try:
        yield
    except ApiError as exc:
        if exc.code == "widget_unavailable" and exc.hint is None:
            exc.hint = (
                "the API hides the reason; find it with: "
                f"{opts.command_prefix()} diagnose {widget} --origin {origin}"
            )
        raise


def saved_call(
    opts: GlobalOptions, call_id: str | None
) -> tuple[GlobalOptions, str, SavedSession | None]:
    """The call to act on: CALL_ID, else the one mint-token saved last.

    Returns the options to use, the call id, and the saved session when it is
    for that call. A call lives on the API that minted it, so the saved base
    URL is used unless --base-url or --env says otherwise.
    """
    from dataclasses import replace

    from powsoo_cli import console, session_store

    saved = session_store.load()
    if call_id is None:
        if saved is None:
            raise UsageError(
                "no call id given and no saved session",
                hint="pass the CALL_ID, or mint one first: powsoo mint-token "
                "WIDGET --origin ORIGIN",
            )
        call_id = saved.call_id
        console.message(f"using the saved session: call {call_id}", style="dim")
    if not call_id:
        raise UsageError("the call id is empty")

    if saved is None or saved.call_id != call_id:
        return opts, call_id, None
    if opts.base_url is None and opts.env is None:
        opts = replace(opts, base_url=saved.base_url, _loaded=None)
        console.message(
            f"talking to {saved.base_url}, where this call was minted", style="dim"
        )
    return opts, call_id, saved


def session_token_for(
    call_id: str,
    *,
    given: tuple[str | None, ...],
    setting: SecretStr | None,
    saved: SavedSession | None,
) -> str:
    """The token to use: the given ones in order (a flag, a pasted URL's), then
    POWSOO_SESSION_TOKEN or the config file, then the saved session's."""
    from powsoo_cli import console
    from powsoo_cli.redact import register_secret

    saved_token = saved.session_token if saved is not None else None
    from_setting = setting.get_secret_value() if setting is not None else None
    token = next((t for t in given if t), None) or from_setting or saved_token
    if not token:
        raise UsageError(
            f"no session token for call {call_id}",
            hint="pass --token sst_…, set POWSOO_SESSION_TOKEN, or mint the call "
            "with powsoo mint-token",
        )
    if any(char.isspace() for char in token):
        raise UsageError("the session token contains white space")

    register_secret(token)
    if token == saved_token and saved is not None and _expired(saved.expires_at):
        console.warn(
            f"the saved session expired at {saved.expires_at}; the API will "
            "probably refuse its token"
        )
    return token


def _expired(stamp: str) -> bool:
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when <= datetime.now(timezone.utc)
