"""check-origin: the API's origin matching, asked from the command line."""

from __future__ import annotations

import json

from powsoo_cli.exit_codes import ExitCode

DEMO = ("-a", "shop.example", "-a", "*.shop.example", "-a", "localhost:5173")


def test_an_allowed_origin_names_the_entry_that_matched(run_cli):
    result = run_cli("check-origin", "https://www.shop.example", *DEMO)

    assert result.exit_code == ExitCode.SUCCESS
    assert 'matched the entry "*.shop.example"' in result.stdout


def test_localhost_is_allowed_whatever_the_list_says(run_cli):
    result = run_cli("check-origin", "http://localhost:3000", "-a", "shop.example")

    assert result.exit_code == ExitCode.SUCCESS
    assert "always allowed" in result.stdout


def test_a_refused_origin_says_why_and_which_entry_to_add(run_cli):
    result = run_cli("check-origin", "https://www.shop.example", "-a", "shop.example")

    assert result.exit_code == ExitCode.PROBLEM
    assert "excludes subdomains" in result.stdout
    assert 'add the entry "www.shop.example"' in result.stdout


def test_plain_http_gets_advice_rather_than_an_entry(run_cli):
    result = run_cli("check-origin", "http://shop.example", *DEMO, "--json")

    verdict = json.loads(result.stdout)
    assert result.exit_code == ExitCode.PROBLEM
    assert verdict["allowed"] is False
    assert verdict["suggestedEntry"] is None
    assert "https" in verdict["suggestion"]


def test_the_json_verdict_uses_camel_case_keys(run_cli):
    result = run_cli("check-origin", "https://shop.example", *DEMO, "--json")

    assert json.loads(result.stdout) == {
        "allowed": True,
        "origin": "https://shop.example",
        "matchedEntry": "shop.example",
        "alwaysAllowed": False,
        "reasons": [],
        "suggestion": None,
        "suggestedEntry": None,
    }


def test_an_entry_that_cannot_be_an_entry_is_a_usage_error(run_cli):
    result = run_cli("check-origin", "https://shop.example", "-a", "*")

    assert result.exit_code == ExitCode.USAGE
    assert "--allowed '*'" in result.stderr
