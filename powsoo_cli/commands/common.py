"""Small pieces several commands share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from powsoo_cli.errors import UsageError
from powsoo_cli.runtime import GlobalOptions


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
def diagnose_hint(widget: str, origin: str) -> Iterator[None]:
    """Point a hidden 404 at the command that finds its real reason."""
    from powsoo_cli.errors import ApiError

    try:
        yield
    except ApiError as exc:
        if exc.code == "widget_unavailable" and exc.hint is None:
            exc.hint = (
                "the API hides the reason; find it with: "
                f"powsoo diagnose {widget} --origin {origin}"
            )
        raise
