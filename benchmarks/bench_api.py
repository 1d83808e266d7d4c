"""One API call: get-config against a standalone sandbox.

The floor is a script that imports httpx and pydantic (what any Python
client of the API would load) and makes the same request with the same
Origin, printing the body and validating nothing.
"""

from __future__ import annotations

import sys

from harness import Row, child_env, interleave, powsoo, ratio_row, run_timed

LIMIT = 1.5
ORIGIN = "https://shop.example"
MINIMAL = """\
import sys
import httpx
import pydantic
reply = httpx.get(sys.argv[1], headers={"origin": sys.argv[2]})
reply.raise_for_status()
sys.stdout.write(reply.text)
"""


def run(sandbox_url: str, quick: bool) -> list[Row]:
    env = child_env()
    ours = [
        *powsoo(),
        "--base-url",
        sandbox_url,
        "get-config",
        "wid_demo",
        "--origin",
        ORIGIN,
        "--json",
    ]
    url = f"{sandbox_url}/v1/embed/wid_demo/config"
    theirs = [sys.executable, "-c", MINIMAL, url, ORIGIN]
    samples = interleave(
        {
            "minimal": lambda: run_timed(theirs, env, expect=b"wid_demo"),
            "powsoo": lambda: run_timed(ours, env, expect=b"wid_demo"),
        },
        rounds=6 if quick else 25,
    )
    return [
        ratio_row(
            "one call: get-config --json",
            samples["powsoo"],
            samples["minimal"],
            "httpx+pydantic script",
            LIMIT,
        )
    ]
