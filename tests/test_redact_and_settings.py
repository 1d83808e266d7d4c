"""Redaction of secrets, and the precedence of settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from powsoo_cli.errors import ApiError, UsageError
from powsoo_cli.redact import redact, register_secret, shorten
from powsoo_cli.settings import load_settings

TOKEN = "sst_" + "Zx9_-" * 7


def test_session_tokens_are_redacted_by_their_prefix():
    text = f"token={TOKEN} and again {TOKEN}!"

    assert TOKEN not in redact(text)
    assert redact(text).count(shorten(TOKEN)) == 2


def test_redaction_is_stable_when_applied_twice():
    once = redact(f"x {TOKEN}")

    assert redact(once) == once


def test_registered_secrets_without_a_prefix_are_redacted_too():
    access = "eyJhbGciOi.accessTokenBody.signature123"
    register_secret(access)

    assert access not in redact(f"Bearer {access}")


def test_errors_cannot_carry_a_token_in_their_message():
    error = ApiError(status=401, code=None, message=f"bad {TOKEN}", request_id=None)

    assert TOKEN not in str(error)


def write_config(text: str) -> Path:
    folder = Path(os.environ["POWSOO_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(text)
    return path


def test_defaults_apply_when_nothing_is_set():
    loaded = load_settings()

    assert loaded.settings.env == "production"
    assert loaded.settings.api_base_url == "https://api.powsoo.com"
    assert set(loaded.sources.values()) == {"default"}


def test_flags_beat_environment_beats_file_beats_defaults(monkeypatch):
    write_config(
        'env = "staging"\norigin = "https://file.example"\n'
        "read_timeout = 11\nconnect_timeout = 3\n"
    )
    monkeypatch.setenv("POWSOO_ORIGIN", "https://env.example")
    monkeypatch.setenv("POWSOO_READ_TIMEOUT", "12")

    loaded = load_settings({"read_timeout": 13})

    assert loaded.settings.env == "staging"
    assert loaded.settings.connect_timeout == 3
    assert loaded.settings.origin == "https://env.example"
    assert loaded.settings.read_timeout == 13
    assert loaded.sources["read_timeout"] == "flag --read-timeout"
    assert loaded.sources["origin"] == "env POWSOO_ORIGIN"


def test_a_profile_overrides_the_top_level_of_the_file(monkeypatch):
    write_config(
        'env = "staging"\n[profiles.local]\nbase_url = "http://127.0.0.1:8787"\n'
    )
    monkeypatch.setenv("POWSOO_PROFILE", "local")

    loaded = load_settings()

    assert loaded.settings.api_base_url == "http://127.0.0.1:8787"
    assert loaded.profile == "local"


def test_the_sandbox_environment_without_a_base_url_means_embedded():
    loaded = load_settings({"env": "sandbox"})

    assert loaded.settings.api_base_url is None


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ("env = [", {}, "not valid TOML"),
        ("colour = 1\n", {}, "unknown key(s): colour"),
        ("", {"POWSOO_ENV": "prod"}, "invalid setting env (from env POWSOO_ENV)"),
        ("", {"POWSOO_READ_TIMEOUT": "-1"}, "invalid setting read_timeout"),
        ("", {"POWSOO_PROFILE": "nope"}, "profile 'nope' is not in"),
        ("profiles = 3\n", {}, "'profiles' in"),
        ("[profiles]\nlocal = 3\n", {"POWSOO_PROFILE": "local"}, "is not a table"),
        ('read_timeout = "abc"\n', {}, "invalid setting read_timeout (from file"),
    ],
)
def test_bad_settings_are_one_clear_usage_error(config, env, message, monkeypatch):
    write_config(config)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(UsageError) as caught:
        load_settings()

    assert message in str(caught.value)


def test_a_bad_environment_value_exits_2_from_the_cli(run_cli, monkeypatch):
    monkeypatch.setenv("POWSOO_ENV", "prod")

    result = run_cli("get-config", "wid_demo", "-o", "https://shop.example")

    assert result.exit_code == 2
    assert "POWSOO_ENV" in result.stderr and "Traceback" not in result.stderr


def test_a_folder_where_the_config_file_should_be_is_a_usage_error():
    folder = Path(os.environ["POWSOO_CONFIG_DIR"]) / "config.toml"
    folder.mkdir(parents=True)

    with pytest.raises(UsageError, match="is not a regular file"):
        load_settings()


def test_a_config_dir_that_is_a_file_exits_2_with_one_line(
    run_cli, tmp_path, monkeypatch
):
    stray = tmp_path / "not-a-folder"
    stray.write_text("")
    monkeypatch.setenv("POWSOO_CONFIG_DIR", str(stray))

    result = run_cli("config", "show")

    assert result.exit_code == 2
    assert "is not a folder" in result.stderr and "Traceback" not in result.stderr


def test_an_unreadable_config_file_is_a_usage_error(monkeypatch):
    # Tests may run as root, who reads any file: the refusal is simulated.
    path = write_config('env = "staging"\n')
    real_read_text = Path.read_text

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)

    with pytest.raises(UsageError, match="cannot be read: Permission denied"):
        load_settings()
