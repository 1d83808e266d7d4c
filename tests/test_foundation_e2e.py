"""get-config, mint-token, config show and explain, end to end against the
real sandbox over loopback sockets."""

from __future__ import annotations

import json

import pytest

from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.sandbox.fixtures import DEMO_WIDGETS

SHOP = "https://shop.example"


def cli(run_cli, sandbox, *args: str):
    return run_cli("--base-url", sandbox.url, *args)


def test_get_config_of_the_healthy_widget_prints_its_config(sandbox, run_cli):
    result = cli(run_cli, sandbox, "get-config", "wid_demo", "--origin", SHOP)

    assert result.exit_code == ExitCode.SUCCESS
    assert "platform" in result.stdout and "retell" in result.stdout
    assert "HTTP 200" in result.stderr and "request req_" in result.stderr


def test_get_config_json_is_exactly_the_response_body(sandbox, run_cli):
    result = cli(run_cli, sandbox, "get-config", "wid_demo", "-o", SHOP, "--json")

    body = json.loads(result.stdout)
    assert body == DEMO_WIDGETS["wid_demo"].public_config()


@pytest.mark.parametrize("widget", sorted(DEMO_WIDGETS))
def test_every_demo_widget_serves_its_config_to_an_allowed_origin(
    widget, sandbox, run_cli
):
    result = cli(run_cli, sandbox, "get-config", widget, "-o", SHOP, "--json")

    assert result.exit_code == ExitCode.SUCCESS
    assert json.loads(result.stdout)["widgetId"] == widget


@pytest.mark.parametrize(
    ("widget", "exit_code", "code"),
    [
        ("wid_demo", ExitCode.SUCCESS, None),
        ("wid_noplatform", ExitCode.PROBLEM, "widget_unavailable"),
        ("wid_noagent", ExitCode.PROBLEM, "widget_unavailable"),
        ("wid_badsecret", ExitCode.PROBLEM, "widget_unavailable"),
        ("wid_revoked", ExitCode.PROBLEM, "retell_auth_failed (HTTP 502)"),
        ("wid_capped", ExitCode.PROBLEM, "plan_limit_exceeded (HTTP 402)"),
        ("wid_doesnotexist", ExitCode.PROBLEM, "widget_unavailable (HTTP 404)"),
    ],
)
def test_every_demo_widget_mints_or_fails_as_documented(
    widget, exit_code, code, sandbox, run_cli
):
    result = cli(run_cli, sandbox, "mint-token", widget, "-o", SHOP, "--no-save")

    assert result.exit_code == exit_code
    if code is None:
        assert "callId" in result.stdout
        assert result.stderr.count("error") == 0
    else:
        assert code in result.stderr
        assert result.stdout == ""
        assert "request req_" in result.stderr


def test_a_hidden_404_points_at_diagnose_with_the_same_arguments(sandbox, run_cli):
    result = cli(
        run_cli, sandbox, "get-config", "wid_demo", "-o", "https://evil.example"
    )

    assert result.exit_code == ExitCode.PROBLEM
    assert "diagnose wid_demo --origin https://evil.example" in result.stderr
    # The reason stays hidden, as in production.
    assert "origin_not_allowed" not in result.stderr


def test_mint_token_shortens_tokens_in_the_readable_view(sandbox, run_cli):
    result = cli(run_cli, sandbox, "mint-token", "wid_demo", "-o", SHOP, "--no-save")

    token_line = next(
        line for line in result.stdout.splitlines() if "sessionToken" in line
    )
    assert "sst_" in token_line
    assert len(token_line.split()[1]) <= len("sst_abcd…")


def test_mint_token_json_and_show_secrets_print_tokens_in_full(sandbox, run_cli):
    as_json = cli(
        run_cli, sandbox, "mint-token", "wid_demo", "-o", SHOP, "--no-save", "--json"
    )
    body = json.loads(as_json.stdout)
    assert body["sessionToken"].startswith("sst_") and len(body["sessionToken"]) > 30
    assert set(body) == {
        "platform",
        "accessToken",
        "callId",
        "expiresAt",
        "sessionToken",
    }

    shown = cli(
        run_cli,
        sandbox,
        "mint-token",
        "wid_demo",
        "-o",
        SHOP,
        "--no-save",
        "--show-secrets",
    )
    assert "…" not in shown.stdout


def test_mint_token_warns_of_a_real_call_outside_the_sandbox_only(sandbox, run_cli):
    real = cli(run_cli, sandbox, "mint-token", "wid_demo", "-o", SHOP, "--no-save")
    sandboxed = cli(
        run_cli,
        sandbox,
        "--env",
        "sandbox",
        "mint-token",
        "wid_demo",
        "-o",
        SHOP,
        "--no-save",
    )

    assert "real web call" in real.stderr
    assert "real web call" not in sandboxed.stderr


def test_mint_token_saves_the_session_for_its_owner_only(sandbox, run_cli, tmp_path):
    import os
    import stat

    from powsoo_cli import session_store

    result = cli(run_cli, sandbox, "mint-token", "wid_demo", "-o", SHOP)

    saved = session_store.load()
    assert result.exit_code == 0 and saved is not None
    assert saved.base_url == sandbox.url and saved.widget_id == "wid_demo"
    mode = stat.S_IMODE(os.stat(session_store.state_file()).st_mode)
    assert mode == 0o600


def test_the_embedded_sandbox_serves_a_command_with_no_base_url(run_cli):
    result = run_cli(
        "--env",
        "sandbox",
        "get-config",
        "wid_demo",
        "-o",
        "http://localhost:5173",
        "--json",
    )

    assert result.exit_code == ExitCode.SUCCESS
    assert json.loads(result.stdout)["platform"] == "retell"


def test_the_origin_can_come_from_the_environment(sandbox, run_cli, monkeypatch):
    monkeypatch.setenv("POWSOO_ORIGIN", SHOP)

    result = cli(run_cli, sandbox, "get-config", "wid_demo", "--json")

    assert result.exit_code == ExitCode.SUCCESS


def test_a_missing_origin_is_a_usage_error(sandbox, run_cli):
    result = cli(run_cli, sandbox, "get-config", "wid_demo")

    assert result.exit_code == ExitCode.USAGE
    assert "no origin given" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("get-config", "demo", "-o", SHOP),
        ("get-config", "wid_de-mo", "-o", SHOP),
        ("get-config", "wid_demo", "-o", "shop.example"),
        ("get-config", "wid_demo", "-o", "https://shop.example/path"),
        ("mint-token", "wid_demo", "-o", "ftp:/x"),
        ("mint-token", "wid_demo", "-o", ""),
        ("mint-token", "wid_", "-o", SHOP),
    ],
)
def test_bad_widget_ids_and_origins_are_refused_before_anything_is_sent(args, run_cli):
    # Port 9 on loopback: were anything sent, the error would say "connect".
    result = run_cli("--base-url", "http://127.0.0.1:9", *args)

    assert result.exit_code == ExitCode.USAGE
    assert "connect" not in result.stderr
    assert result.stderr.startswith("powsoo: error: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_an_unreachable_api_exits_3_with_one_line(run_cli):
    result = run_cli(
        "--base-url", "http://127.0.0.1:9", "get-config", "wid_demo", "-o", SHOP
    )

    assert result.exit_code == ExitCode.UNREACHABLE
    assert "could not connect to 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_name_is_reported_as_a_lookup_failure(run_cli):
    result = run_cli(
        "--base-url",
        "http://no-such-host.invalid",
        "get-config",
        "wid_demo",
        "-o",
        SHOP,
    )

    assert result.exit_code == ExitCode.UNREACHABLE
    assert "could not be resolved" in result.stderr


def test_the_request_id_given_by_the_user_is_sent_and_echoed(sandbox, run_cli):
    result = cli(
        run_cli,
        sandbox,
        "--request-id",
        "req_mine123",
        "get-config",
        "wid_demo",
        "-o",
        "https://evil.example",
    )

    assert "[request req_mine123]" in result.stderr


def test_debug_traces_requests_without_the_session_token(sandbox, run_cli):
    result = cli(
        run_cli,
        sandbox,
        "--debug",
        "mint-token",
        "wid_demo",
        "-o",
        SHOP,
        "--no-save",
        "--json",
    )
    token = json.loads(result.stdout)["sessionToken"]

    assert "debug: > POST" in result.stderr
    assert "x-request-id" in result.stderr
    assert token not in result.stderr
    assert "powsoo " in result.stderr.splitlines()[0]


def test_version_comes_from_the_package_metadata(run_cli):
    from importlib.metadata import version

    result = run_cli("--version")

    assert result.exit_code == 0
    assert result.stdout.strip() == f"powsoo {version('powsoo-cli')}"


def test_explain_renders_one_code(run_cli):
    result = run_cli("explain", "plan_limit_exceeded")

    assert result.exit_code == 0
    assert "HTTP 402" in result.stdout
    assert "Fix" in result.stdout


def test_explain_lists_every_code(run_cli):
    from powsoo_cli.catalogue import CATALOGUE

    result = run_cli("explain", "--json")

    codes = [entry["code"] for entry in json.loads(result.stdout)]
    assert codes == list(CATALOGUE)


def test_explain_suggests_a_close_code_for_a_typo(run_cli):
    result = run_cli("explain", "widget_unavailble")

    assert result.exit_code == ExitCode.USAGE
    assert "did you mean widget_unavailable" in result.stderr


def test_config_show_names_each_source(run_cli, monkeypatch, tmp_path):
    import os
    from pathlib import Path

    config_dir = Path(os.environ["POWSOO_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text(
        'origin = "https://shop.example"\nread_timeout = 12\n'
        '[profiles.stage]\nenv = "staging"\n'
    )
    monkeypatch.setenv("POWSOO_READ_TIMEOUT", "7")
    monkeypatch.setenv("POWSOO_SESSION_TOKEN", "sst_" + "A" * 32)

    result = run_cli(
        "--profile", "stage", "--connect-timeout", "2", "config", "show", "--json"
    )

    settings = json.loads(result.stdout)["settings"]
    assert settings["env"] == {
        "value": "staging",
        "source": f"file {config_dir / 'config.toml'} [profiles.stage]",
    }
    assert settings["read_timeout"] == {
        "value": 7.0,
        "source": "env POWSOO_READ_TIMEOUT",
    }
    assert settings["base_url"] == {"value": None, "source": "default"}
    assert settings["connect_timeout"]["source"] == "flag --connect-timeout"
    assert settings["heartbeat_interval"]["source"] == "default"
    assert "A" * 32 not in result.stdout


def test_a_global_option_after_the_command_is_explained(run_cli):
    result = run_cli("get-config", "wid_demo", "-o", SHOP, "--env", "sandbox")

    assert result.exit_code == ExitCode.USAGE
    assert "put it before the command" in result.stderr
    assert "'powsoo --env VALUE get-config ...'" in result.stderr


def test_the_diagnose_hint_keeps_the_options_that_chose_the_api(sandbox, run_cli):
    result = cli(
        run_cli, sandbox, "get-config", "wid_demo", "-o", "https://evil.example"
    )

    assert f"powsoo --base-url {sandbox.url} diagnose wid_demo" in result.stderr


def test_powsoo_alone_shows_the_help_and_succeeds(run_cli):
    result = run_cli()

    assert result.exit_code == ExitCode.SUCCESS
    assert "Commands:" in result.stdout


def test_a_suggestion_for_a_mistyped_command_is_not_double_punctuated(run_cli):
    result = run_cli("diagnoze", "wid_demo")

    assert "Did you mean 'diagnose'?" in result.stderr
    assert "?." not in result.stderr
