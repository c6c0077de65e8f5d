"""Config: typed loading, and one clear message (file, key, fix) with exit 2 for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import ConfigError, load_config, parse_config
from aggregator.config_report import section_report

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


PASTED = "wsXk-LITERAL-ZOOM-SECRET-9f8e7d"
ENV_KEYS = [("server", "moderator_token_env"), ("server", "host_token_env"),
            ("server", "overlay_token_env"), ("zoom", "secret_token_env"),
            ("zoom", "client_id_env"), ("zoom", "client_secret_env"),
            ("youtube", "api_key_env"), ("email", "password_env"),
            ("email", "oauth2_token_env"), ("wiki", "password_env"), ("smtp", "password_env")]


def test_every_env_key_is_checked() -> None:
    """A `*_env` key added later must be typed EnvName, or a pasted secret would pass."""
    import msgspec

    from aggregator.config import Config, EnvName

    found = []
    for section in msgspec.structs.fields(Config):
        if isinstance(section.type, type) and issubclass(section.type, msgspec.Struct):
            for field in msgspec.structs.fields(section.type):
                if field.name.endswith("_env"):
                    assert field.type == EnvName, f"[{section.name}] {field.name}"
                    found.append((section.name, field.name))
    assert sorted(found) == sorted(ENV_KEYS)


@pytest.mark.parametrize(("section", "key"), ENV_KEYS)
@pytest.mark.parametrize("value", [PASTED, "ya29.a0AfH6SMBx", "sk live 123", "1ABC", "A=B",
                                   "$ZOOM_TOKEN"])
def test_a_pasted_secret_is_refused_without_being_repeated(section: str, key: str,
                                                           value: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f'[{section}]\n{key} = "{value}"\n', "townhall.toml")
    message = str(err.value)
    assert err.value.key == f"[{section}] {key}"
    assert message.startswith("townhall.toml: ") and "pasted secret" in message
    assert "fix:" in message and "environment variable" in message
    assert value not in message
    assert len(value) < 8 or value[2:-2] not in message  # not even a part of a long one


@pytest.mark.parametrize("value", ["ZOOM_WEBHOOK_SECRET_TOKEN", "_x1", "my_secret", "A"])
def test_environment_variable_names_are_accepted(value: str) -> None:
    config = parse_config(f'[zoom]\nsecret_token_env = "{value}"\n')
    assert config.zoom.secret_token_env == value


def test_check_config_never_prints_a_pasted_secret(tmp_path: Path) -> None:
    path = tmp_path / "townhall.toml"
    path.write_text(f'[zoom]\nenabled = true\nsecret_token_env = "{PASTED}"\n')
    result = townhall("check-config", "--config", str(path))
    assert result.returncode == 2
    assert "[zoom] secret_token_env" in result.stderr and "pasted secret" in result.stderr
    assert PASTED not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("text", "key", "words", "fix"), [
    ("[server]\nport = 0", "[server] port", "not a TCP port", "1 to 65535, e.g. 8765"),
    ("[server]\nport = 65536", "[server] port", "not a TCP port", "1 to 65535"),
    ("[email]\nport = -1", "[email] port", "not a TCP port", "993 for tls"),
    ("[meeting]\nduration_minutes = 0", "[meeting] duration_minutes", "between 1 and 1440",
     "e.g. 90"),
    ("[meeting]\nduration_minutes = 1441", "[meeting] duration_minutes", "between 1 and 1440",
     "e.g. 90"),
    ("[youtube]\ndaily_quota_units = 0", "[youtube] daily_quota_units", "must be positive",
     "10000"),
    ("[zoom]\ntimestamp_tolerance_seconds = -5", "[zoom] timestamp_tolerance_seconds",
     "must be positive", "300"),
])
def test_ranges_name_the_key_and_the_fix(text: str, key: str, words: str, fix: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "townhall.toml")
    assert err.value.key == key
    assert err.value.problem == words or words in err.value.problem
    assert fix in err.value.fix


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.2", False), ("::1", False),
                                               ("localhost", False), ("10.0.0.1", True),
                                               ("example.org", True)])
def test_check_config_uses_the_same_loopback_rule_as_the_server(
        host: str, warned: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    for env in ("TOWNHALL_MODERATOR_TOKEN", "TOWNHALL_HOST_TOKEN", "TOWNHALL_OVERLAY_TOKEN"):
        monkeypatch.delenv(env, raising=False)
    config = parse_config(f'[server]\nhost = "{host}"\n')
    problems = {name: found for name, _, found in section_report(config)}["server"]
    assert bool(problems) is warned
