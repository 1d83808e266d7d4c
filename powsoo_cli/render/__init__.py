"""Rich renderables and JSON shapes; no HTTP here.

This module itself stays free of rich, for output that needs none.
"""


def timing_line(status: int, elapsed: float, request_id: str | None) -> str:
    text = f"HTTP {status} in {elapsed * 1000:.0f} ms"
    return text + (f" · request {request_id}" if request_id else "")
