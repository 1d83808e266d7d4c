"""What one run of the tool shares: global options, settings, the client.

Commands ask this module for their settings and client; it starts the
embedded sandbox when the environment is ``sandbox`` and no base URL is set,
prints the ``--debug`` preamble, and renders errors the same way everywhere.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from powsoo_cli import console
from powsoo_cli.command_table import GLOBAL_OPTIONS, VALUE_OPTIONS
from powsoo_cli.redact import redact

if TYPE_CHECKING:
    from powsoo_cli.client import PowsooClient
    from powsoo_cli.errors import PowsooError
    from powsoo_cli.settings import LoadedSettings, Settings

# Set before the command tree runs, so that even a failure while parsing
# arguments knows whether to show a traceback.
DEBUG = False


@dataclass
class GlobalOptions:
    env: str | None = None
    base_url: str | None = None
    profile: str | None = None
    request_id: str | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    debug: bool = False
    _loaded: LoadedSettings | None = field(default=None, repr=False)

    def loaded(self, **command_flags: Any) -> LoadedSettings:
        """Effective settings; loaded once, the debug preamble printed once."""
        if self._loaded is None:
            from powsoo_cli.settings import load_settings

            flags = {
                "env": self.env,
                "base_url": self.base_url,
                "connect_timeout": self.connect_timeout,
                "read_timeout": self.read_timeout,
                **command_flags,
            }
            self._loaded = load_settings(flags, self.profile)
            if self.debug:
                print_debug_preamble(self._loaded)
        return self._loaded

    @property
    def settings(self) -> Settings:
        return self.loaded().settings

    def command_prefix(self) -> str:
        """``powsoo`` with the global options that pick the API, for hints."""
        import shlex

        words = ["powsoo"]
        for flag, value in (
            ("--env", self.env),
            ("--base-url", self.base_url),
            ("--profile", self.profile),
        ):
            if value:
                words += [flag, shlex.quote(value)]
        return " ".join(words)


def print_debug_preamble(loaded: LoadedSettings) -> None:
    import httpx

    from powsoo_cli.version import version

    lines = [
        f"powsoo {version()} · Python {platform.python_version()} "
        f"({sys.executable}) · httpx {httpx.__version__}",
        f"config file: {loaded.config_file}"
        + ("" if loaded.config_file.is_file() else " (not present)"),
        f"profile: {loaded.profile or '(none)'}",
    ]
    for name, value in describe_settings(loaded):
        lines.append(f"  {name} = {value}  ({loaded.sources[name]})")
    for line in lines:
        debug(line)


def describe_settings(loaded: LoadedSettings) -> list[tuple[str, str]]:
    """Each setting as text, secrets shortened."""
    from powsoo_cli.redact import shorten

    rows = []
    for name in type(loaded.settings).model_fields:
        value = getattr(loaded.settings, name)
        if name == "session_token":
            shown = shorten(value.get_secret_value()) if value else "(unset)"
        elif value is None:
            shown = "(unset)"
        else:
            shown = str(value)
        rows.append((name, shown))
    return rows


def debug(text: str) -> None:
    """One line of the ``--debug`` trace on stderr, redacted."""
    sys.stderr.write(f"debug: {redact(text)}\n")


@contextmanager
def open_client(
    options: GlobalOptions, *, sandbox_heartbeat: float | None = None
) -> Iterator[PowsooClient]:
    """A client for the effective API, with the embedded sandbox if needed.

    ``sandbox_heartbeat`` overrides the embedded sandbox's heartbeat interval
    unless the user set ``heartbeat_interval`` themselves: diagnose waits for
    a heartbeat and should not sit out the 15 s default on the demo.
    """
    from powsoo_cli.client import PowsooClient

    settings = options.settings
    base_url = settings.api_base_url
    sandbox = None
    if base_url is None:
        from powsoo_cli.sandbox.server import start_in_thread
        from powsoo_cli.sandbox.state import SandboxConfig

        interval = settings.heartbeat_interval
        user_set = options.loaded().sources["heartbeat_interval"] != "default"
        if sandbox_heartbeat is not None and not user_set:
            interval = sandbox_heartbeat
        sandbox = start_in_thread(SandboxConfig(heartbeat_interval=interval))
        base_url = sandbox.url
        if options.debug:
            debug(f"embedded sandbox listening on {base_url}")

    client = PowsooClient(
        base_url,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        request_id=options.request_id,
        trace=debug if options.debug else None,
    )
    try:
        yield client
    finally:
        client.close()
        if sandbox is not None:
            sandbox.stop()


def report(exc: PowsooError) -> None:
    """Print one of our errors: one line, a hint, a traceback only if asked."""
    from powsoo_cli.errors import ApiError

    hint = exc.hint
    if isinstance(exc, ApiError) and hint is None:
        hint = catalogue_hint(exc.code, exc.status)
    console.error_line(exc.message, hint)
    if DEBUG:
        show_traceback(exc)


def catalogue_hint(code: str | None, status: int) -> str | None:
    from powsoo_cli.catalogue import describe_status, lookup

    info = (lookup(code) if code else None) or describe_status(status)
    if info is None:
        return None
    return f"{info.fix} (more: powsoo explain {info.code})"


def report_usage(exc: Exception) -> None:
    """A usage error from the argument parser, as one line plus a pointer."""
    format_message = getattr(exc, "format_message", None)
    text = format_message() if callable(format_message) else str(exc)
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else console.PROGRAM
    hint = f"see '{command} --help' for the usage"
    option = getattr(exc, "option_name", None)
    if option in GLOBAL_OPTIONS and command != console.PROGRAM:
        shown = f"{option} VALUE" if option in VALUE_OPTIONS else option
        hint = (
            f"{option} is a global option: put it before the command, "
            f"as in 'powsoo {shown} {command.split(' ', 1)[-1]} ...'"
        )
    if not text.endswith((".", "?", "!")):
        text += "."
    # The parser quotes what it refused, which may be a token put in the wrong place.
    console.error_line(redact(text), hint)


def report_unexpected(exc: BaseException) -> None:
    console.error_line(
        f"unexpected {type(exc).__name__}: {redact(str(exc))}",
        "this is a bug in powsoo; run again with --debug for the traceback",
    )
    if DEBUG:
        show_traceback(exc)


def show_traceback(exc: BaseException) -> None:
    """The traceback, without local variables: they may hold tokens."""
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    sys.stderr.write(redact(text))
