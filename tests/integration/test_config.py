"""Config: typed loading, and one clear message (file, key, fix) with exit 2 for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import ConfigError, load_config, parse_config, section_report

from ..conftest import ROOT, townhall


def test_the_example_config_is_valid_and_complete() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.meeting.title == "Conversation with Maggie"
    assert config.server.port == 8765 and config.youtube.daily_quota_units == 10_000
    assert config.email.subject_include == ["Question for Maggie"]
    assert config.store_path == ROOT / "townhall.db"  # relative to the file


@pytest.mark.parametrize(("text", "key", "words"), [
    ('[server]\nport = "eighty"', "[server] port", "expected int, got str"),
    ("[server]\nprot = 1", "[server] prot", "unknown key"),
    ("[sever]\nport = 1", "[sever]", "unknown key"),
    ('[zoom]\nmode = "smoke"', "[zoom] mode", "'webhook', 'websocket'"),
    ("[server]\nport = 70000", "[server] port", "not a TCP port"),
    ('[email]\nsince = "last week"', "[email] since", "not a date"),
    ('[triage]\nbanned = ["justaname"]', "[triage] banned[0]", "source:id"),
    ("[meeting]\nanswerers = [1]", "[meeting] answerers[0]", "expected str"),
    ("[meeting\ntitle = 1", None, "invalid TOML"),
])
def test_bad_config_names_the_key_and_the_fix(text: str, key: str | None, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "townhall.toml")
    message = str(err.value)
    assert message.startswith("townhall.toml")
    if key:
        assert err.value.key == key
    assert words in message and "fix:" in message


@pytest.mark.parametrize("content", ['[server]\nport = "x"\n', "[bogus]\n", "not toml = =\n",
                                     b"\xff\xfe binary".decode("latin-1")])
def test_cli_exits_2_with_one_message_and_no_traceback(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="latin-1" if "\xff" in content else "utf-8")
    result = townhall("check-config", "--config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr and "fix:" in result.stderr


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = townhall("check-config", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_check_config_says_what_each_source_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "townhall.toml"
    path.write_text('[zoom]\nenabled = true\n[youtube]\nenabled = true\nvideo = "dQw4w9WgXcQ"\n'
                    '[email]\nenabled = false\n')
    env = {"ZOOM_WEBHOOK_SECRET_TOKEN": "", "YOUTUBE_API_KEY": "k"}
    result = townhall("check-config", "--config", str(path), env=env)
    assert "[zoom] missing" in result.stdout
    assert "ZOOM_WEBHOOK_SECRET_TOKEN" in result.stdout
    assert "[youtube] ok" in result.stdout and "[email] disabled" in result.stdout
    assert result.returncode == 2
    ok = townhall("check-config", "--config", str(path),
                  env={**env, "ZOOM_WEBHOOK_SECRET_TOKEN": "s"})
    assert ok.returncode == 0 and "[zoom] ok" in ok.stdout


def test_secrets_come_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config('[zoom]\nsecret_token_env = "MY_SECRET"\n')
    monkeypatch.delenv("MY_SECRET", raising=False)
    assert config.secret(config.zoom.secret_token_env) is None
    monkeypatch.setenv("MY_SECRET", "s3cret")
    assert config.secret(config.zoom.secret_token_env) == "s3cret"


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "townhall.toml").write_text('[meeting]\ntitle = "cwd"\n')
    other = tmp_path / "other.toml"
    other.write_text('[meeting]\ntitle = "env"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOWNHALL_CONFIG", raising=False)
    assert load_config().meeting.title == "cwd"
    monkeypatch.setenv("TOWNHALL_CONFIG", str(other))
    assert load_config().meeting.title == "env"
    assert load_config(tmp_path / "townhall.toml").meeting.title == "cwd"


def test_no_config_means_every_collector_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOWNHALL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config = load_config()
    assert config.source is None
    states = {name: state for name, state, _ in section_report(config)}
    assert states["zoom"] == states["youtube"] == states["email"] == "disabled"
