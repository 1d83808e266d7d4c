"""get-config and mint-token end to end against the real sandbox."""

from __future__ import annotations

import json

import pytest

from powsoo_cli.exit_codes import ExitCode


def test_get_config_of_the_healthy_widget_prints_its_config(sandbox, run_cli):
    result = run_cli(
        "--base-url", sandbox.url, "get-config", "wid_demo",
        "--origin", "https://shop.example",
    )

    assert result.exit_code == ExitCode.SUCCESS
    assert "platform" in result.stdout and "retell" in result.stdout
    assert "HTTP 200" in result.stderr


def test_get_config_json_is_the_response_body(sandbox, run_cli):
    result = run_cli(
        "--base-url", sandbox.url, "get-config", "wid_demo",
        "--origin", "https://shop.example", "--json",
    )

    body = json.loads(result.stdout)
    assert body["widgetId"] == "wid_demo"
    assert body["platform"] == "retell"
