"""The version, read from the installed package's metadata (its one source)."""

from functools import cache

DISTRIBUTION = "powsoo-cli"


@cache
def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"
