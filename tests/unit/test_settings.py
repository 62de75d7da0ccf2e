from pathlib import Path

import pytest

from agents_mcp.settings import RESIDENCY_URLS, SettingsError, load_settings


def test_defaults_and_residency() -> None:
    settings = load_settings(env={})
    assert settings.api_base_url == RESIDENCY_URLS["global"]
    assert load_settings(env={"ELEVENLABS_API_RESIDENCY": "eu"}).api_base_url.endswith(
        "eu.residency.elevenlabs.io"
    )


def test_base_url_overrides_residency() -> None:
    s = load_settings(
        env={"ELEVENLABS_API_RESIDENCY": "eu", "ELEVENLABS_BASE_URL": "http://127.0.0.1:9/"}
    )
    assert s.api_base_url == "http://127.0.0.1:9"


def test_environment_wins_over_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('residency = "us"\nread_only = false\ntools = ["get_agent_link"]\n')
    s = load_settings(cfg, env={"AGENTS_MCP_READ_ONLY": "1"})
    assert s.read_only is True
    assert s.residency == "us"
    assert s.tools == ["get_agent_link"]
    assert load_settings(env={"AGENTS_MCP_TOOLS": "a, b,"}).tools == ["a", "b"]


def test_key_is_secret_and_errors_do_not_echo_values() -> None:
    s = load_settings(env={"ELEVENLABS_API_KEY": "sk_canary_123"})
    assert "sk_canary_123" not in repr(s) and "sk_canary_123" not in str(s)
    with pytest.raises(SettingsError) as err:
        load_settings(env={"ELEVENLABS_API_RESIDENCY": "mars-secret"})
    assert "ELEVENLABS_API_RESIDENCY" in str(err.value)
    assert "mars-secret" not in str(err.value)


def test_bad_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("residency = ")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, env={})
