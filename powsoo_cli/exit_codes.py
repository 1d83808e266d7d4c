"""Process exit codes, the same for every command (documented in the README)."""

from enum import IntEnum


class ExitCode(IntEnum):
    SUCCESS = 0
    PROBLEM = 1  # the API answered with an error, or a check found a problem
    USAGE = 2  # bad input from the user; nothing was sent
    UNREACHABLE = 3  # the API could not be reached at all
    TOKEN_REJECTED = 4  # the session token was refused (401)
    INTERRUPTED = 130  # Ctrl-C or SIGTERM
