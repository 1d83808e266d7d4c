"""Entry point: run the command tree and turn every failure into an exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from powsoo_cli.exit_codes import ExitCode

BROKEN_PIPE_EXIT = 141  # what a shell reports for a process killed by SIGPIPE


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    # Treated as Ctrl-C, so connections close the same way.
    raise KeyboardInterrupt


def _silence_stdout() -> None:
    # After a broken pipe, flushing at exit would raise again: point at devnull.
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())


def _typer_saw_broken_pipe() -> bool:
    # typer catches EPIPE itself, wraps stdout and exits 1; we want 141.
    from typer._click.utils import PacifyFlushWrapper

    return isinstance(sys.stdout, PacifyFlushWrapper)


def _rich_saw_broken_pipe() -> bool:
    # rich catches EPIPE itself, goes quiet and exits 1; we want 141 here too.
    from powsoo_cli import console

    return console.out.cache_info().currsize > 0 and console.out().quiet


def _interrupted(exc: BaseException) -> bool:
    # Ctrl-C can come out wrapped: before 3.12, Python turns it into a
    # RuntimeError when it lands while a module builds a class (__set_name__).
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def main(argv: Sequence[str] | None = None) -> NoReturn:
    from powsoo_cli import completing
    from powsoo_cli.command_table import command_in

    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    completion = completing.requested()
    selected = command_in(completing.words_before_cursor() if completion else args)
    if selected is None and "--version" in args and not completion:
        # Answered before typer is even imported: the quickest path there is.
        from powsoo_cli.version import version

        sys.stdout.write(f"powsoo {version()}\n")
        sys.exit(ExitCode.SUCCESS)

    # We use no pydantic plugins; looking for them scans every installed
    # package's metadata on the first model built.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

    from typer import Abort, TyperException

    from powsoo_cli import runtime
    from powsoo_cli.cli import build_app
    from powsoo_cli.errors import PowsooError

    signal.signal(signal.SIGTERM, _on_sigterm)
    if completion:
        completing.install()  # typer answers the shell, then exits
    runtime.DEBUG = "--debug" in args or os.environ.get("POWSOO_DEBUG") == "1"
    app = build_app(selected)

    try:
        code = app(args=args, prog_name="powsoo", standalone_mode=False)
    except PowsooError as exc:
        runtime.report(exc)
        code = exc.exit_code
    except (Abort, KeyboardInterrupt):
        code = ExitCode.INTERRUPTED
    except TyperException as exc:  # typer's own click: usage errors and friends
        runtime.report_usage(exc)
        code = getattr(exc, "exit_code", ExitCode.USAGE)
    except BrokenPipeError:
        _silence_stdout()
        code = BROKEN_PIPE_EXIT
    except SystemExit:
        if not (_typer_saw_broken_pipe() or _rich_saw_broken_pipe()):
            raise
        _silence_stdout()
        code = BROKEN_PIPE_EXIT
    except Exception as exc:  # the last line of defence: never a bare traceback
        if _interrupted(exc):
            code = ExitCode.INTERRUPTED
        else:
            runtime.report_unexpected(exc)
            code = ExitCode.PROBLEM

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = BROKEN_PIPE_EXIT
    sys.exit(code if isinstance(code, int) else ExitCode.SUCCESS)


if __name__ == "__main__":
    main()
