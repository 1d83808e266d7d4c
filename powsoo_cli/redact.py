"""The one place secrets are hidden before text reaches a person or a file.

Session tokens have a recognisable prefix (``sst_``) and are caught by
pattern. Access tokens have no documented shape, so every secret the tool
handles is also registered here by value the moment it is seen.
"""

from __future__ import annotations

import re

# Five or more characters, so that an already shortened stub is left alone.
SESSION_TOKEN_PATTERN = re.compile(r"sst_[A-Za-z0-9_\-]{5,}")

# Shorter values are too likely to collide with ordinary words.
_MIN_REGISTERED_LENGTH = 8
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` hides it wherever it appears."""
    if value and len(value) >= _MIN_REGISTERED_LENGTH:
        _registered.add(value)


def shorten(secret: str) -> str:
    """A recognisable stub of a secret: its prefix and first characters."""
    if secret.startswith("sst_"):
        return secret[:8] + "…"
    return secret[:4] + "…" if len(secret) > 8 else "…"


def redact(text: str) -> str:
    """Replace every known or recognisable secret in ``text`` with a stub."""
    for secret in sorted(_registered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, shorten(secret))
    return SESSION_TOKEN_PATTERN.sub(lambda m: shorten(m.group(0)), text)
