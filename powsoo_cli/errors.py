"""Our exception tree. The client raises these; commands turn them into exits.

    PowsooError                 anything this tool reports to its user
    ├── UsageError              bad input from the user; nothing was sent (exit 2)
    ├── ApiError                the API answered with an error status (exit 1, 4)
    ├── BadResponse             the API answered, but not in a form we can use
    └── TransportError          the API could not be reached at all (exit 3)
        └── StreamStalled       an open stream went silent for too long

Every message is already redacted: no token can travel inside an exception.
It is also one line of plain text: control characters, from a server's error
body or a user's file, are shown escaped, so they cannot break the line or
drive the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping

from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.redact import redact

# C0 and C1 controls, DEL and the Unicode line and paragraph separators,
# written as escapes: \x1b starts terminal commands, and str.splitlines()
# breaks lines on \x1c-\x1e and \x85 as well as on \n.
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))} | {
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def one_line(text: str) -> str:
    """``text`` redacted, with every control character escaped."""
    return redact(text).translate(_CONTROLS)


class PowsooError(Exception):
    """Base class: a one-line message, an optional hint and an exit code."""

    exit_code: int = ExitCode.PROBLEM

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(one_line(message))
        self.hint = hint

    @property
    def hint(self) -> str | None:
        return self._hint

    @hint.setter
    def hint(self, value: str | None) -> None:
        # Commands add hints later, often naming what the user typed.
        self._hint = one_line(value) if value else None

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(PowsooError):
    """Raised when user input is invalid before any request is made."""

    exit_code = ExitCode.USAGE


class ApiError(PowsooError):
    """Raised when the API answers with a non-success status."""

    def __init__(
        self,
        *,
        status: int,
        code: str | None,
        message: str,
        request_id: str | None,
        hint: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        # The answer's headers, for checks that read CORS or Date on errors.
        self.headers = headers
        self.api_message = one_line(message)
        self.request_id = request_id
        text = f"{code} (HTTP {status})" if code else f"HTTP {status}"
        text += f": {self.api_message}"
        if request_id:
            text += f" [request {request_id}]"
        super().__init__(text, hint=hint)

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        if self.status == 401:
            return ExitCode.TOKEN_REJECTED
        return ExitCode.PROBLEM


class BadResponse(PowsooError):
    """Raised when a success answer cannot be read (bad JSON, wrong shape)."""

    def __init__(
        self, message: str, *, request_id: str | None = None, hint: str | None = None
    ) -> None:
        self.request_id = request_id
        if request_id:
            message += f" [request {request_id}]"
        super().__init__(message, hint=hint)


class TransportError(PowsooError):
    """Raised when no answer came back: name lookup, connect, TLS or timeout."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, *, kind: str, hint: str | None = None) -> None:
        self.kind = kind  # "dns", "connect", "tls", "timeout", "protocol", "proxy"
        super().__init__(message, hint=hint)


class StreamStalled(TransportError):
    """Raised when an open stream sends nothing for longer than allowed."""

    def __init__(self, silent_for: float) -> None:
        self.silent_for = silent_for
        super().__init__(
            f"the event stream sent nothing for {silent_for:.0f} s", kind="timeout"
        )
