"""One validated Settings object, from a TOML file and the environment (the environment wins).

The TOML keys are the field names below (``api_key``, ``residency``, ``read_only`` ...); each has an
environment variable (``ENV_VARS``). The API key and the auth token are SecretStr: they print as
'**********' and are only unwrapped where a header is built.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from agents_mcp.errors import ConfigError

RESIDENCY_URLS: dict[str, str] = {
    "global": "https://api.elevenlabs.io",
    "us": "https://api.us.elevenlabs.io",
    "eu": "https://api.eu.residency.elevenlabs.io",
    "in": "https://api.in.residency.elevenlabs.io",
    "sg": "https://api.sg.residency.elevenlabs.io",
}

# field name -> environment variable
ENV_VARS: dict[str, str] = {
    "api_key": "ELEVENLABS_API_KEY",
    "residency": "ELEVENLABS_API_RESIDENCY",
    "base_url": "ELEVENLABS_BASE_URL",
    "read_only": "AGENTS_MCP_READ_ONLY",
    "tools": "AGENTS_MCP_TOOLS",
    "data_dir": "AGENTS_MCP_DATA_DIR",
    "auth_token": "AGENTS_MCP_AUTH_TOKEN",
    "log_level": "AGENTS_MCP_LOG_LEVEL",
    "log_json": "AGENTS_MCP_LOG_JSON",
    "allowed_hosts": "AGENTS_MCP_ALLOWED_HOSTS",
    "stateless_http": "AGENTS_MCP_STATELESS_HTTP",
    "request_state_keys": "AGENTS_MCP_REQUEST_STATE_KEYS",
    "connect_timeout": "AGENTS_MCP_CONNECT_TIMEOUT",
    "request_timeout": "AGENTS_MCP_REQUEST_TIMEOUT",
    "simulation_timeout": "AGENTS_MCP_SIMULATION_TIMEOUT",
    "stall_timeout": "AGENTS_MCP_STALL_TIMEOUT",
    "max_retries": "AGENTS_MCP_MAX_RETRIES",
    "max_concurrent_simulations": "AGENTS_MCP_MAX_CONCURRENT_SIMULATIONS",
    "max_stored_simulations": "AGENTS_MCP_MAX_STORED_SIMULATIONS",
    "simulation_backend": "AGENTS_MCP_SIMULATION_BACKEND",
    "poll_seconds": "AGENTS_MCP_POLL_SECONDS",
    "max_runs": "AGENTS_MCP_MAX_RUNS",
    "database_url": "AGENTS_MCP_DATABASE_URL",
}


SimulationBackend = Literal["auto", "stream", "tests"]  # the agent-testing API, or the stream


class SettingsError(ConfigError):
    """A setting is invalid; the message names the variable and the reason."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    residency: Literal["global", "us", "eu", "in", "sg"] = "global"
    base_url: str | None = None
    read_only: bool = False
    tools: list[str] | None = None  # None: every tool
    data_dir: Path | None = None  # None: the user data directory (see simulation_data_dir)
    auth_token: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)
    stateless_http: bool = False  # HTTP: no MCP sessions (any replica can serve any request)
    request_state_keys: list[SecretStr] = Field(default_factory=list)  # shared across replicas
    connect_timeout: float = Field(5.0, gt=0)
    request_timeout: float = Field(30.0, gt=0)  # delete, duplicate, link
    simulation_timeout: float = Field(600.0, gt=0)  # a whole simulation, streamed or not
    stall_timeout: float = Field(120.0, gt=0)  # no byte on a stream for this long: give up
    max_retries: int = Field(3, ge=0, le=10)
    max_concurrent_simulations: int = Field(4, ge=1, le=100)
    max_stored_simulations: int = Field(500, ge=1)
    # auto: the simulate stream until it answers 404/405/410, then the agent-testing API
    simulation_backend: SimulationBackend = "auto"
    poll_seconds: float = Field(2.0, gt=0, le=60)  # agent-testing API: poll an invocation
    max_runs: int = Field(30, ge=1, le=10_000)  # test runs one call starts without confirmation
    # PostgreSQL shared by replicas (postgresql://user:password@host/db); None: SQLite in data_dir
    database_url: SecretStr | None = None

    @field_validator("tools", "allowed_hosts", "request_state_keys", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", "simulation_backend", mode="before")
    @classmethod
    def _upper(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or postgres://)")
        return value

    @property
    def api_base_url(self) -> str:
        """ELEVENLABS_BASE_URL when set, else the residency's URL."""
        return self.base_url or RESIDENCY_URLS[self.residency]

    @property
    def simulation_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        from platformdirs import user_data_path

        return user_data_path("agents-mcp", appauthor=False)


def load_settings(
    config_file: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from the TOML file (if any), then the environment, then explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file).expanduser()
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise SettingsError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    for field, var in ENV_VARS.items():
        raw = env.get(var)
        if raw is not None and raw != "":
            values[field] = raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        named = set()
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            where = ENV_VARS.get(field, field)
            named.add(where)
            # never echo the offending value: it could be a secret
            problems.append(f"{where} ({field}): {err['msg']}")
        raise SettingsError(
            "invalid settings: " + "; ".join(problems),
            setting=named.pop() if len(named) == 1 else None,
        ) from None
