"""powsoo diagnose end to end: the real CLI against the real sandbox."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from powsoo_cli.diagnose.json_report import CHECK_IDS
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.sandbox.server import RunningSandbox

SHOP = "https://shop.example"
CHECK_KEYS = [
    "id",
    "title",
    "status",
    "durationMs",
    "requestId",
    "requestIds",
    "detail",
    "fix",
]
TOP_KEYS = [
    "schema",
    "verdict",
    "healthy",
    "ambiguous",
    "causes",
    "widget",
    "origin",
    "page",
    "apiBaseUrl",
    "sandbox",
    "webCallCreated",
    "durationMs",
    "checks",
]


def diagnose_json(run_cli, sandbox, *args: str) -> tuple[int, dict]:
    result = run_cli("--base-url", sandbox.url, "diagnose", *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def statuses(report: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in report["checks"]}


def session_count(sandbox: RunningSandbox) -> int:
    # The sandbox has no endpoint listing calls; read its state directly.
    app = sandbox._server.config.app
    return len(app.app.state.sandbox.sessions)


@pytest.mark.parametrize(
    ("widget", "verdict"),
    [
        ("wid_demo", "healthy"),
        ("wid_noplatform", "voice_platform_not_connected"),
        ("wid_noagent", "retell_agent_not_configured"),
        ("wid_badsecret", "decryption_failed"),
        ("wid_revoked", "retell_auth_failed"),
        ("wid_capped", "plan_limit_exceeded"),
        ("wid_nope", "widget_not_found"),
    ],
)
def test_every_demo_widget_gets_its_own_verdict(run_cli, sandbox, widget, verdict):
    code, report = diagnose_json(run_cli, sandbox, widget, "--origin", SHOP)

    assert report["verdict"] == verdict
    assert report["healthy"] is (verdict == "healthy")
    assert code == (ExitCode.SUCCESS if verdict == "healthy" else ExitCode.PROBLEM)


@pytest.mark.parametrize(
    ("origin", "verdict"),
    [
        ("https://shop.example", "healthy"),
        ("https://www.shop.example", "healthy"),
        ("https://evil.example", "origin_not_allowed"),
        ("http://shop.example", "origin_not_allowed"),
    ],
)
def test_the_demo_widget_is_judged_by_the_origin_it_is_seen_from(
    run_cli, sandbox, origin, verdict
):
    _, report = diagnose_json(
        run_cli, sandbox, "wid_demo", "--origin", origin, "--heartbeat-wait", "0"
    )

    assert report["verdict"] == verdict
    assert report["origin"] == origin


def test_a_foreign_origin_gets_the_exact_entry_to_add(run_cli, sandbox):
    _, report = diagnose_json(
        run_cli, sandbox, "wid_demo", "--origin", "https://evil.example"
    )

    cause = report["causes"][0]
    assert cause["certainty"] == "confirmed"
    assert '"evil.example"' in cause["fix"]
    assert "wid_demo" in cause["fix"]


def test_a_plain_http_origin_is_told_to_use_https_not_a_new_entry(run_cli, sandbox):
    _, report = diagnose_json(
        run_cli, sandbox, "wid_demo", "--origin", "http://shop.example"
    )

    top, *others = report["causes"]
    assert "https://shop.example is already accepted" in top["fix"]
    assert [c["code"] for c in others] == ["insecure_context"]


def test_a_refused_origin_still_reveals_the_widget_side_problem(run_cli, sandbox):
    _, report = diagnose_json(
        run_cli, sandbox, "wid_noagent", "--origin", "https://evil.example"
    )

    assert [c["code"] for c in report["causes"]] == [
        "origin_not_allowed",
        "retell_agent_not_configured",
    ]
    assert statuses(report)["mint.localhost"] == "fail"
    assert statuses(report)["mint.origin"] == "skipped"


def test_no_mint_skips_every_check_that_needs_a_call_and_creates_none(run_cli, sandbox):
    before = session_count(sandbox)

    code, report = diagnose_json(
        run_cli, sandbox, "wid_demo", "--origin", "https://evil.example", "--no-mint"
    )

    assert session_count(sandbox) == before
    seen = statuses(report)
    for check in ("mint.origin", "mint.localhost", "stream.events", "results.token"):
        assert seen[check] == "skipped"
    assert report["verdict"] == "origin_not_allowed"
    assert code == ExitCode.PROBLEM


def test_no_mint_still_reads_a_missing_platform_from_the_config(run_cli, sandbox):
    _, report = diagnose_json(
        run_cli, sandbox, "wid_noplatform", "--origin", SHOP, "--no-mint"
    )

    assert report["verdict"] == "voice_platform_not_connected"
    assert report["causes"][0]["certainty"] == "likely"


def test_a_diagnosis_mints_once_when_the_origin_is_allowed(run_cli, sandbox):
    before = session_count(sandbox)

    diagnose_json(
        run_cli, sandbox, "wid_demo", "--origin", SHOP, "--heartbeat-wait", "0"
    )

    assert session_count(sandbox) == before + 1


def test_the_json_report_has_the_documented_keys_in_a_stable_order(run_cli, sandbox):
    _, first = diagnose_json(run_cli, sandbox, "wid_demo", "--origin", SHOP)
    _, second = diagnose_json(run_cli, sandbox, "wid_capped", "--origin", SHOP)

    for report in (first, second):
        assert list(report) == TOP_KEYS
        assert report["schema"] == "powsoo.diagnose/1"
        assert [c["id"] for c in report["checks"]] == list(CHECK_IDS)
        for check in report["checks"]:
            assert list(check) == CHECK_KEYS
            assert check["status"] in ("pass", "fail", "warn", "skipped")
    assert first["causes"] == []
    assert list(second["causes"][0]) == [
        "code",
        "title",
        "certainty",
        "evidence",
        "fix",
    ]


def test_the_healthy_path_sees_ready_heartbeat_results_and_cors(run_cli, sandbox):
    _, report = diagnose_json(run_cli, sandbox, "wid_demo", "--origin", SHOP)

    seen = statuses(report)
    for check in (
        "api.reachable",
        "mint.origin",
        "token.sanity",
        "stream.events",
        "results.token",
        "cors.preflight.mint",
        "cors.preflight.results",
        "cors.responses",
        "page.secure_context",
    ):
        assert seen[check] == "pass", check
    stream = next(c for c in report["checks"] if c["id"] == "stream.events")
    assert "heartbeat" in stream["detail"]
    assert stream["requestId"].startswith("req_")


def test_the_readable_report_shows_checks_verdict_fix_and_request_ids(run_cli, sandbox):
    result = run_cli(
        "--base-url",
        sandbox.url,
        "diagnose",
        "wid_demo",
        "--origin",
        "https://evil.example",
    )

    assert result.exit_code == ExitCode.PROBLEM
    out = result.stdout
    assert "wid_demo" in out and "https://evil.example" in out
    assert "✗ FAIL" in out and "Origin allowlist" in out
    assert "verdict: origin_not_allowed" in out
    assert 'fix: Add "evil.example"' in out.replace("\n", " ").replace("│", "")
    assert "request ids" in out and "req_" in out
    assert "\x1b[" not in out


def test_an_api_on_a_closed_port_is_unreachable_with_exit_3(run_cli):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    result = run_cli(
        "--base-url",
        f"http://127.0.0.1:{port}",
        "diagnose",
        "wid_demo",
        "--origin",
        SHOP,
        "--json",
    )

    report = json.loads(result.stdout)
    assert result.exit_code == ExitCode.UNREACHABLE
    assert report["verdict"] == "api_unreachable"
    assert statuses(report)["config.origin"] == "skipped"


def test_the_junit_report_has_one_test_case_per_check(run_cli, sandbox, tmp_path):
    path = tmp_path / "diagnose.xml"

    result = run_cli(
        "--base-url",
        sandbox.url,
        "diagnose",
        "wid_demo",
        "--origin",
        "https://evil.example",
        "--junit",
        str(path),
    )

    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(CHECK_IDS)
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "config.origin: Config from the page origin" in failed
    assert int(suite.get("failures", "0")) == len(failed)
    assert any(c.find("skipped") is not None for c in cases)
    verdict = suite.find("properties/property[@name='verdict']")
    assert verdict is not None and verdict.get("value") == "origin_not_allowed"
    assert "JUnit report written" in result.stderr


def test_github_actions_gets_escaped_error_annotations_on_stdout(
    run_cli, sandbox, monkeypatch
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    result = run_cli(
        "--base-url",
        sandbox.url,
        "diagnose",
        "wid_demo",
        "--origin",
        "https://evil.example",
    )

    lines = [x for x in result.stdout.splitlines() if x.startswith("::")]
    assert lines[0].startswith(
        "::error title=powsoo diagnose wid_demo @ https%3A//evil.example%3A "
        "origin_not_allowed::"
    )
    assert all(x.startswith(("::error ", "::warning ")) for x in lines)
    assert not any("\r" in x for x in lines)


def test_with_json_the_annotations_go_to_stderr_and_stdout_stays_json(
    run_cli, sandbox, monkeypatch
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    result = run_cli(
        "--base-url", sandbox.url, "diagnose", "wid_capped", "--origin", SHOP, "--json"
    )

    assert json.loads(result.stdout)["verdict"] == "plan_limit_exceeded"
    assert "::error title=" in result.stderr


def test_without_github_actions_there_are_no_annotations(run_cli, sandbox):
    result = run_cli(
        "--base-url", sandbox.url, "diagnose", "wid_capped", "--origin", SHOP
    )

    assert "::error" not in result.stdout + result.stderr


FLEET = """\
# a mixed fleet
wid_demo https://shop.example
wid_noagent,https://shop.example

wid_nope https://shop.example
wid_demo http://shop.example
wid_capped  https://www.shop.example
"""


def write_fleet(tmp_path: Path, text: str = FLEET) -> Path:
    path = tmp_path / "fleet.txt"
    path.write_text(text)
    return path


def test_a_fleet_file_is_diagnosed_widget_by_widget(run_cli, sandbox, tmp_path):
    fleet = write_fleet(tmp_path)

    result = run_cli(
        "--base-url",
        sandbox.url,
        "diagnose",
        "--from",
        str(fleet),
        "--heartbeat-wait",
        "0",
        "--json",
    )

    report = json.loads(result.stdout)
    assert report["schema"] == "powsoo.diagnose-batch/1"
    assert [r["verdict"] for r in report["results"]] == [
        "healthy",
        "retell_agent_not_configured",
        "widget_not_found",
        "origin_not_allowed",
        "plan_limit_exceeded",
    ]
    assert report["summary"] == {
        "total": 5,
        "healthy": 1,
        "unhealthy": 4,
        "unreachable": 0,
    }
    assert result.exit_code == ExitCode.PROBLEM


def test_a_fleet_summary_lists_each_unhealthy_widget_with_its_fix(
    run_cli, sandbox, tmp_path
):
    fleet = write_fleet(tmp_path)

    result = run_cli(
        "--base-url",
        sandbox.url,
        "--read-timeout",
        "5",
        "diagnose",
        "--from",
        str(fleet),
        "--heartbeat-wait",
        "0",
        "--concurrency",
        "2",
    )

    out = result.stdout
    assert "verdict" in out and "retell_agent_not_configured" in out
    assert "wid_nope @ https://shop.example: widget_not_found" in out
    assert "1 of 5 healthy" in out


def test_a_csv_fleet_with_a_header_is_read_from_stdin(run_cli, sandbox, monkeypatch):
    import io

    csv_text = "widget,origin\nwid_demo,https://shop.example\nwid_capped,\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(csv_text))

    result = run_cli(
        "--base-url",
        sandbox.url,
        "diagnose",
        "--from",
        "-",
        "--origin",
        "https://www.shop.example",
        "--no-mint",
        "--json",
    )

    results = json.loads(result.stdout)["results"]
    assert [(r["widget"], r["origin"]) for r in results] == [
        ("wid_demo", "https://shop.example"),
        ("wid_capped", "https://www.shop.example"),
    ]


def test_shards_are_disjoint_and_cover_the_fleet(run_cli, sandbox, tmp_path):
    fleet = write_fleet(tmp_path)
    seen: list[tuple[str, str]] = []

    for index in (1, 2, 3):
        result = run_cli(
            "--base-url",
            sandbox.url,
            "diagnose",
            "--from",
            str(fleet),
            "--shard",
            f"{index}/3",
            "--no-mint",
            "--json",
        )
        report = json.loads(result.stdout)
        assert report["shard"] == f"{index}/3"
        seen += [(r["widget"], r["origin"]) for r in report["results"]]

    assert sorted(seen) == sorted(
        [
            ("wid_demo", "https://shop.example"),
            ("wid_noagent", "https://shop.example"),
            ("wid_nope", "https://shop.example"),
            ("wid_demo", "http://shop.example"),
            ("wid_capped", "https://www.shop.example"),
        ]
    )


def test_a_fleet_that_cannot_reach_the_api_exits_3(run_cli, tmp_path):
    fleet = write_fleet(tmp_path, "wid_demo https://shop.example\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    result = run_cli(
        "--base-url", f"http://127.0.0.1:{port}", "diagnose", "--from", str(fleet)
    )

    assert result.exit_code == ExitCode.UNREACHABLE
    assert "api_unreachable" in result.stdout


def test_a_bad_fleet_line_is_a_usage_error_before_anything_is_sent(
    run_cli, sandbox, tmp_path
):
    fleet = write_fleet(tmp_path, "wid_demo https://shop.example\nnot-a-widget x\n")
    before = session_count(sandbox)

    result = run_cli("--base-url", sandbox.url, "diagnose", "--from", str(fleet))

    assert result.exit_code == ExitCode.USAGE
    assert ":2:" in result.stderr and "not a widget id" in result.stderr
    assert session_count(sandbox) == before


@pytest.mark.parametrize(
    "args",
    [
        ("diagnose",),
        ("diagnose", "wid_demo", "--origin", SHOP, "--shard", "1/2"),
        ("diagnose", "wid_demo", "--page", "ftp://shop.example/"),
        ("diagnose", "wid_demo", "--page", "http://[::1/unclosed"),
        ("diagnose", "wid_demo", "--from", "-"),
    ],
)
def test_contradictory_or_missing_input_is_a_usage_error(run_cli, args):
    result = run_cli(*args)

    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""


def test_the_embedded_sandbox_heartbeats_fast_enough_for_the_default_wait(
    run_cli, monkeypatch
):
    monkeypatch.setenv("POWSOO_ENV", "sandbox")

    # With the 15 s default interval no heartbeat would come within 5 s.
    result = run_cli(
        "diagnose", "wid_demo", "--origin", SHOP, "--heartbeat-wait", "5", "--json"
    )

    report = json.loads(result.stdout)
    assert report["healthy"] is True
    assert report["sandbox"] is True
    assert statuses(report)["stream.events"] == "pass"


def test_a_fleet_page_that_urllib_cannot_split_is_a_usage_error(run_cli, tmp_path):
    fleet = write_fleet(tmp_path, "wid_demo https://shop.example http://[::1/x\n")

    result = run_cli(
        "--base-url", "http://127.0.0.1:9", "diagnose", "--from", str(fleet)
    )

    assert result.exit_code == ExitCode.USAGE
    assert "is not an http(s) URL" in result.stderr
    assert "unexpected" not in result.stderr
