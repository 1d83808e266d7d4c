"""Rich renderables and JSON shapes; no HTTP here.

This module itself stays free of rich, for output that needs none.
"""

# C0 and C1 control characters and DEL, shown as \xNN: a server must not be
# able to move the cursor or retitle the terminal.
CONTROL_ESCAPES = {
    code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))
}


def safe(text: str) -> str:
    """Server text made harmless for a terminal: control characters escaped."""
    return text.translate(CONTROL_ESCAPES)


def timing_line(status: int, elapsed: float, request_id: str | None) -> str:
    text = f"HTTP {status} in {elapsed * 1000:.0f} ms"
    return text + (f" · request {request_id}" if request_id else "")
