"""Effective configuration: flags > environment (POWSOO_*) > config file > defaults.

The config file is TOML. Top-level keys apply to every profile; a table
``[profiles.NAME]`` overrides them when that profile is chosen with
``--profile NAME`` or ``POWSOO_PROFILE``. It lives in ``POWSOO_CONFIG_DIR``,
else ``$XDG_CONFIG_HOME/powsoo``, else the platform's usual config folder.

Layering is done here rather than by pydantic-settings' own source order so
that ``powsoo config show`` can say where every value came from.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from powsoo_cli.errors import UsageError

BASE_URLS = {
    "production": "https://api.powsoo.com",
    "staging": "https://api-staging.powsoo.com",
}
ENV_PREFIX = "POWSOO_"
CONFIG_FILE_NAME = "config.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    env: Literal["production", "staging", "sandbox"] = "production"
    base_url: str | None = None
    origin: str | None = None
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    read_timeout: float = Field(default=30.0, gt=0, le=3600)
    heartbeat_interval: float = Field(default=15.0, gt=0, le=3600)
    session_token: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only explicit values: `load_settings` merges the layers itself.
        return (init_settings,)

    @property
    def api_base_url(self) -> str | None:
        """The API to talk to; None means: start the embedded sandbox."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return BASE_URLS.get(self.env)

    @property
    def is_sandbox(self) -> bool:
        return self.env == "sandbox"


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    sources: dict[str, str]  # field name -> where its value came from
    config_file: Path
    profile: str | None


def config_dir() -> Path:
    """Where the config file lives on this machine."""
    if explicit := os.environ.get("POWSOO_CONFIG_DIR"):
        return Path(explicit)
    if xdg := os.environ.get("XDG_CONFIG_HOME"):
        return Path(xdg) / "powsoo"
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA") or str(Path.home() / "AppData/Roaming")
        return Path(appdata) / "powsoo"
    if sys.platform == "darwin":
        return Path.home() / "Library/Application Support/powsoo"
    return Path.home() / ".config/powsoo"


def _read_config_file(path: Path, profile: str | None) -> tuple[dict[str, Any], str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    if path.parent.exists() and not path.parent.is_dir():
        raise UsageError(
            f"the config folder {path.parent} is not a folder",
            hint="point POWSOO_CONFIG_DIR at the folder that holds config.toml",
        )
    if path.exists() and not path.is_file():
        raise UsageError(f"config file {path} is not a regular file")
    if not path.is_file():
        if profile:
            raise UsageError(
                f"profile {profile!r} was asked for, but there is no config file "
                f"at {path}",
                hint="create it, or set POWSOO_CONFIG_DIR to the folder holding it",
            )
        return {}, ""

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(
            f"config file {path} cannot be read: {exc.strerror or exc}"
        ) from None

    profiles = document.pop("profiles", {})
    if not isinstance(profiles, dict):
        raise UsageError(
            f"'profiles' in {path} is not a table",
            hint="write each profile as [profiles.NAME]",
        )
    values = dict(document)
    label = f"file {path}"
    if profile:
        if profile not in profiles:
            known = ", ".join(sorted(profiles))
            raise UsageError(
                f"profile {profile!r} is not in {path}",
                hint=f"known profiles: {known}" if known else "add [profiles.NAME]",
            )
        if not isinstance(profiles[profile], dict):
            raise UsageError(
                f"profile {profile!r} in {path} is not a table",
                hint=f"write it as [profiles.{profile}] with its keys below",
            )
        values.update(profiles[profile])
        label = f"file {path} [profiles.{profile}]"

    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise UsageError(
            f"config file {path} has unknown key(s): {', '.join(unknown)}",
            hint="known keys: " + ", ".join(Settings.model_fields),
        )
    return values, label


def load_settings(
    flags: dict[str, Any] | None = None, profile: str | None = None
) -> LoadedSettings:
    """Merge the layers, validate once, and remember each value's source."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    profile = profile or os.environ.get("POWSOO_PROFILE") or None
    path = config_dir() / CONFIG_FILE_NAME
    file_values, file_label = _read_config_file(path, profile)
    env_values = EnvSettingsSource(Settings)()

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, value in file_values.items():
        merged[name], sources[name] = value, file_label
    for name, value in env_values.items():
        merged[name], sources[name] = value, f"env {ENV_PREFIX}{name.upper()}"
    for name, value in flags.items():
        merged[name], sources[name] = value, f"flag --{name.replace('_', '-')}"

    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        where = sources.get(name, "default")
        raise UsageError(
            f"invalid setting {name} (from {where}): {first['msg']}",
            hint="'powsoo config show' lists every setting and where it comes from",
        ) from None

    for name in Settings.model_fields:
        sources.setdefault(name, "default")
    return LoadedSettings(settings, sources, path, profile)
