"""Tests for the error catalogue (powsoo_cli.catalogue)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from powsoo_cli import catalogue
from powsoo_cli.catalogue import CATALOGUE, HIDDEN_SUB_REASONS, describe_status, lookup

# The API specification's documented error table (§4.2), copied by hand on purpose:
# the tests must not read files from outside the repository.
SPEC_ERROR_TABLE: dict[str, int] = {
    "widget_unavailable": 404,
    "origin_not_allowed": 404,
    "widget_not_found": 404,
    "voice_platform_not_connected": 404,
    "retell_agent_not_configured": 404,
    "decryption_failed": 404,
    "retell_auth_failed": 502,
    "plan_limit_exceeded": 402,
    "invalid_session_token": 401,
    "session_not_found": 404,
}

# Codes the specification assumes for statuses it documents without a code (§13 #18).
SPEC_ASSUMED_CODES: dict[str, int] = {
    "invalid_request": 400,
    "widget_timeout": 504,
    "tool_call_not_found": 404,
}

# The log-only sub-reasons hidden behind widget_unavailable (§4.3).
SPEC_HIDDEN_SUB_REASONS = {
    "origin_not_allowed",
    "widget_not_found",
    "voice_platform_not_connected",
    "retell_agent_not_configured",
    "decryption_failed",
}

CLI_OWN_CODES = {
    "api_unreachable",
    "cors_blocked",
    "stream_unavailable",
    "page_embed_missing",
    "csp_blocks_widget",
    "microphone_blocked",
    "insecure_context",
    "server_error",
    "rate_limited",
}

CLIENT_SIDE_CODES = CLI_OWN_CODES - {"server_error", "rate_limited"}


@pytest.mark.parametrize(("code", "status"), sorted(SPEC_ERROR_TABLE.items()))
def test_every_documented_code_is_present_with_the_spec_status(
    code: str, status: int
) -> None:
    info = CATALOGUE[code]
    assert info.http_status == status
    assert info.documented


@pytest.mark.parametrize(("code", "status"), sorted(SPEC_ASSUMED_CODES.items()))
def test_assumed_codes_are_present_with_their_status_and_marked_undocumented(
    code: str, status: int
) -> None:
    info = CATALOGUE[code]
    assert info.http_status == status
    assert info.visible
    assert not info.documented


def test_only_the_spec_table_codes_are_marked_documented() -> None:
    documented = {code for code, info in CATALOGUE.items() if info.documented}
    assert documented == set(SPEC_ERROR_TABLE)


def test_hidden_sub_reasons_are_not_visible_and_map_to_404() -> None:
    assert set(HIDDEN_SUB_REASONS) == SPEC_HIDDEN_SUB_REASONS
    for code in SPEC_HIDDEN_SUB_REASONS:
        info = CATALOGUE[code]
        assert not info.visible
        assert info.http_status == 404


def test_every_wire_code_other_than_the_sub_reasons_is_visible() -> None:
    wire_codes = set(SPEC_ERROR_TABLE) - SPEC_HIDDEN_SUB_REASONS
    wire_codes |= set(SPEC_ASSUMED_CODES)
    for code in wire_codes:
        assert CATALOGUE[code].visible, code


def test_widget_unavailable_names_every_sub_reason_and_points_to_diagnose() -> None:
    info = CATALOGUE["widget_unavailable"]
    for code in SPEC_HIDDEN_SUB_REASONS:
        assert code in info.meaning
    assert "powsoo diagnose" in info.fix
    assert "http://localhost" in info.fix


def test_the_cli_own_codes_are_present_and_not_on_the_wire() -> None:
    for code in CLI_OWN_CODES:
        info = CATALOGUE[code]
        assert not info.visible, code
        assert not info.documented, code


def test_client_side_codes_have_no_http_status() -> None:
    for code in CLIENT_SIDE_CODES:
        assert CATALOGUE[code].http_status is None, code


def test_the_catalogue_holds_exactly_the_expected_codes() -> None:
    expected = set(SPEC_ERROR_TABLE) | set(SPEC_ASSUMED_CODES) | CLI_OWN_CODES
    assert set(CATALOGUE) == expected


@pytest.mark.parametrize("code", list(CATALOGUE))
def test_every_entry_is_complete_and_keyed_by_its_own_code(code: str) -> None:
    info = CATALOGUE[code]
    assert info.code == code
    assert info.title.strip()
    assert info.meaning.strip()
    assert info.fix.strip()
    assert info.causes
    assert all(cause.strip() for cause in info.causes)
    assert info.exit_code in {1, 3, 4}


def test_exit_codes_follow_the_cli_contract() -> None:
    assert CATALOGUE["invalid_session_token"].exit_code == 4
    assert CATALOGUE["api_unreachable"].exit_code == 3
    others = set(CATALOGUE) - {"invalid_session_token", "api_unreachable"}
    assert {CATALOGUE[code].exit_code for code in others} == {1}


def test_entries_are_immutable() -> None:
    info = CATALOGUE["widget_unavailable"]
    with pytest.raises(AttributeError):
        info.exit_code = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid_request"),
        (401, "invalid_session_token"),
        (402, "plan_limit_exceeded"),
        (404, "widget_unavailable"),
        (429, "rate_limited"),
        (500, "server_error"),
        (502, "server_error"),
        (503, "server_error"),
        (504, "widget_timeout"),
        (599, "server_error"),
    ],
)
def test_describe_status_gives_the_best_entry_for_a_bare_status(
    status: int, code: str
) -> None:
    info = describe_status(status)
    assert info is not None
    assert info.code == code


@pytest.mark.parametrize("status", [200, 204, 301, 403, 418, 600])
def test_describe_status_returns_none_for_statuses_without_an_entry(
    status: int,
) -> None:
    assert describe_status(status) is None


def test_the_rate_limited_entry_says_retry_after_is_honoured() -> None:
    assert "Retry-After" in CATALOGUE["rate_limited"].fix


def test_lookup_finds_a_known_code() -> None:
    assert lookup("retell_auth_failed") is CATALOGUE["retell_auth_failed"]


def test_lookup_ignores_case_and_surrounding_space() -> None:
    assert lookup("  Widget_Unavailable\n") is CATALOGUE["widget_unavailable"]


def test_lookup_of_an_unknown_code_returns_none() -> None:
    assert lookup("no_such_code") is None
    assert lookup("") is None


def test_the_module_imports_only_dataclasses_from_the_standard_library() -> None:
    source = Path(catalogue.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            assert node.module is not None
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "dataclasses"}
    assert imported <= set(sys.stdlib_module_names)
