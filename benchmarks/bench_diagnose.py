"""diagnose: one widget on the embedded sandbox, and a batch on a standalone one.

- ``POWSOO_ENV=sandbox powsoo diagnose wid_demo --heartbeat-wait 0`` against
  ``POWSOO_ENV=sandbox powsoo get-config wid_demo``: both start the embedded
  sandbox, so the ratio is what diagnose's checks add to one call.
- ``diagnose --from FILE`` with many healthy widgets (each gets every check,
  the mint and the stream included) against one ``diagnose`` of the same
  widget, both on the standalone sandbox.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness import Row, child_env, interleave, powsoo, ratio_row, run_timed

EMBEDDED_LIMIT = 2.0
WIDGETS = 500
BATCH_LIMIT = 10.0
ORIGIN = "https://shop.example"
ONE = ["wid_demo", "--origin", ORIGIN, "--heartbeat-wait", "0"]


def embedded(quick: bool) -> list[Row]:
    env = child_env(POWSOO_ENV="sandbox")
    diagnose = [*powsoo(), "diagnose", *ONE]
    get_config = [*powsoo(), "get-config", "wid_demo", "--origin", ORIGIN]
    samples = interleave(
        {
            "get-config": lambda: run_timed(get_config, env, expect=b"wid_demo"),
            "diagnose": lambda: run_timed(diagnose, env, expect=b"healthy"),
        },
        rounds=3 if quick else 10,
    )
    return [
        ratio_row(
            "diagnose, embedded sandbox",
            samples["diagnose"],
            samples["get-config"],
            "get-config, embedded",
            EMBEDDED_LIMIT,
        )
    ]


def batch(sandbox_url: str, quick: bool) -> list[Row]:
    widgets = WIDGETS
    env = child_env()
    base = [*powsoo(), "--base-url", sandbox_url, "diagnose"]
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "widgets.txt"
        listing.write_text(f"wid_demo {ORIGIN}\n" * widgets)
        many = [*base, "--from", str(listing), "--heartbeat-wait", "0"]
        samples = interleave(
            {
                "one": lambda: run_timed([*base, *ONE], env, expect=b"healthy"),
                "batch": lambda: run_timed(
                    many, env, expect=f"{widgets} of {widgets} healthy".encode()
                ),
            },
            rounds=1 if quick else 3,
        )
    return [
        ratio_row(
            f"diagnose --from, {widgets} widgets",
            samples["batch"],
            samples["one"],
            "one diagnose",
            BATCH_LIMIT,
        )
    ]
