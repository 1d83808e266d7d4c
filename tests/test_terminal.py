"""Output looks right in any terminal, pipe or CI log."""

from __future__ import annotations

import io
import json

import pytest
from rich.cells import cell_len
from rich.console import Console

from powsoo_cli.models import EmbedConfig
from powsoo_cli.render.calls import config_view

ESC = "\x1b["


def styled_run(run_cli, monkeypatch, env: dict[str, str], *args: str):
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return run_cli(*args)


def test_a_pipe_gets_no_colour(run_cli, monkeypatch):
    result = styled_run(run_cli, monkeypatch, {}, "explain", "widget_unavailable")

    assert result.exit_code == 0
    assert ESC not in result.stdout and ESC not in result.stderr


@pytest.mark.parametrize("variable", ["FORCE_COLOR", "CLICOLOR_FORCE"])
def test_force_colour_turns_colour_on(variable, run_cli, monkeypatch):
    result = styled_run(
        run_cli, monkeypatch, {variable: "1"}, "explain", "widget_unavailable"
    )

    assert ESC in result.stdout


@pytest.mark.parametrize(
    "env", [{"NO_COLOR": "1", "FORCE_COLOR": "1"}, {"TERM": "dumb"}]
)
def test_no_color_and_a_dumb_terminal_win(env, run_cli, monkeypatch):
    result = styled_run(run_cli, monkeypatch, env, "explain", "widget_unavailable")

    assert ESC not in result.stdout


def test_json_is_never_styled_or_wrapped(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "20")
    result = styled_run(run_cli, monkeypatch, {"FORCE_COLOR": "1"}, "explain", "--json")

    assert ESC not in result.stdout
    assert json.loads(result.stdout)[0]["code"] == "widget_unavailable"


def render(renderable: object, width: int) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=width, no_color=True, color_system=None).print(
        renderable
    )
    return buffer.getvalue().splitlines()


def test_wide_characters_keep_columns_aligned():
    from rich.text import Text

    from powsoo_cli.render.calls import key_value_table

    rows = [("名前", "店員"), ("mode", "voice"), ("言語", "en")]
    table = key_value_table([(key, Text(value)) for key, value in rows])

    lines = render(table, 80)

    starts = {
        cell_len(line[: line.index(value)])
        for line, (_, value) in zip(lines, rows, strict=True)
    }
    assert starts == {cell_len("mode") + 2}


def test_long_values_wrap_inside_a_narrow_terminal():
    config = EmbedConfig(theme={"css": "z" * 300, "accent": "#fff"})

    lines = render(config_view("wid_a", "https://a.example", config), 40)

    assert all(cell_len(line) <= 40 for line in lines)
    assert "".join(lines).count("z") == 300


def test_server_text_cannot_drive_the_terminal():
    config = EmbedConfig(mode="a\x1b[2Jb", agent={"name": "x\x07\x9by"})

    text = "\n".join(render(config_view("wid_a", "https://a.example", config), 80))

    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "a\\x1b[2Jb" in text
