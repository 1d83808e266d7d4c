"""The version: one place, ``powsoo_cli.__version__``, which the build also
writes into the package metadata (see ``[tool.hatch.version]``).

Reading it from ``importlib.metadata`` at run time would cost more than the
rest of ``powsoo --version`` put together.
"""

from powsoo_cli import __version__


def version() -> str:
    return __version__
