"""Regenerate completions/ from the app: python scripts/gen_completions.py.

With --check it writes nothing and exits 1 when a file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from powsoo_cli.commands.completion import Shell, completion_script

FOLDER = Path(__file__).resolve().parent.parent / "completions"
FILE_NAMES = {
    Shell.bash: "powsoo.bash",
    Shell.zsh: "_powsoo",
    Shell.fish: "powsoo.fish",
}


def expected() -> dict[Path, str]:
    return {
        FOLDER / name: completion_script(shell.value)
        for shell, name in FILE_NAMES.items()
    }


def main(argv: list[str]) -> int:
    stale = [
        path
        for path, text in expected().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    if "--check" in argv:
        for path in stale:
            print(f"stale: {path} (run python scripts/gen_completions.py)")
        return 1 if stale else 0

    FOLDER.mkdir(exist_ok=True)
    for path, text in expected().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
