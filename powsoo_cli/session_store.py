"""The last session `mint-token` minted, so `watch-events` can pick it up.

The file holds a session token, so it is created readable by its owner only
(0600, in a 0700 folder). ``POWSOO_STATE_DIR`` moves it; otherwise it lives
in ``$XDG_STATE_HOME/powsoo`` or ``~/.local/state/powsoo``.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "last-session.json"


@dataclass(frozen=True)
class SavedSession:
    base_url: str
    widget_id: str
    origin: str
    call_id: str
    session_token: str
    expires_at: str


def state_dir() -> Path:
    if explicit := os.environ.get("POWSOO_STATE_DIR"):
        return Path(explicit)
    if xdg := os.environ.get("XDG_STATE_HOME"):
        return Path(xdg) / "powsoo"
    return Path.home() / ".local/state/powsoo"


def state_file() -> Path:
    return state_dir() / FILE_NAME


def save(session: SavedSession) -> Path:
    folder = state_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / FILE_NAME
    temporary = path.with_suffix(".tmp")

    # Created 0600 from the start: never world-readable, not even briefly;
    # a fresh file, never through a leftover or a symlink at that name.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(session), handle)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def load() -> SavedSession | None:
    """The saved session, or None when there is none or it is unreadable."""
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
        session = SavedSession(**data)
    except (OSError, ValueError, TypeError):
        return None
    # A hand-edited or foreign file: every field must be text to be used.
    if not all(isinstance(value, str) for value in asdict(session).values()):
        return None
    return session
