"""[wiki] and [smtp] config checks, and the mail ops that only `followup send` may use."""

from __future__ import annotations

import pytest

from aggregator.commands import Command, CommandError
from aggregator.config import ConfigError, parse_config


@pytest.mark.parametrize(("text", "key", "words"), [
    ('[wiki]\napi_url = "http://wiki.example.org/w/api.php"', "[wiki] api_url", "unencrypted"),
    ('[wiki]\napi_url = "https://wiki.example.org/wiki/Main"', "[wiki] api_url", "api.php"),
    ('[smtp]\nhost = "smtp.example.org"\nsecurity = "plain"', "[smtp] security", "this machine"),
    ('[smtp]\nfrom = "answers"', "[smtp] from", "not a mail address"),
    ('[smtp]\nsecurity = "ssl"', "[smtp] security", "tls"),
])
def test_bad_values_name_the_key_and_the_fix(text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="t.toml")
    assert caught.value.key == key and words in str(caught.value) and caught.value.fix


def test_loopback_allows_plain_and_http() -> None:
    config = parse_config('[wiki]\napi_url = "http://127.0.0.1:8080/api.php"\n'
                          '[smtp]\nhost = "127.0.0.1"\nsecurity = "plain"\n'
                          'from = "A <a@example.org>"')
    assert config.smtp.from_ == "A <a@example.org>" and config.smtp.security == "plain"


@pytest.mark.parametrize("op", ["mail_sending", "mail_sent", "mail_failed"])
def test_mail_ops_are_not_client_sendable(op: str) -> None:
    with pytest.raises(CommandError) as caught:
        Command.sent_by("moderator", op, 1, {"to": "email:a@b.org", "answer": "x",
                                             "message_id": "<m@b.org>"}, None)
    assert caught.value.code == "forbidden"


@pytest.mark.parametrize("key", ["starts_at", "recording_started_at"])
@pytest.mark.parametrize("value", ["2026-05-01T18:00", "2026-05-01"])
def test_a_meeting_time_without_a_time_zone_is_refused(key: str, value: str) -> None:
    from aggregator.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as err:
        parse_config(f'[meeting]\n{key} = "{value}"\n')
    assert f"[meeting] {key}" in str(err.value) and "time zone" in str(err.value)


@pytest.mark.parametrize("section,key", [("zoom", "token_url"), ("zoom", "api_base_url"),
                                         ("youtube", "api_endpoint")])
def test_an_address_that_carries_a_secret_must_be_https(section: str, key: str) -> None:
    from aggregator.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as err:
        parse_config(f'[{section}]\n{key} = "http://zoom.example.org/x"\n')
    assert f"[{section}] {key}" in str(err.value) and "https" in str(err.value)
    parse_config(f'[{section}]\n{key} = "http://127.0.0.1:8080/x"\n')  # a local test server
