"""`townhall publish` against a real MediaWiki (Debian's package, served by `php -S`)."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import mwclient
import pytest

from aggregator.config import load_config
from aggregator.publish import record_path
from tests.support.after_call import HOSTILE, build_store, email_in, write_config
from townhall.cli import main


def _site(wiki, user: str | None = None, password: str | None = None) -> mwclient.Site:
    host = wiki.api_url.split("/")[2]
    site = mwclient.Site(host, path="/", scheme="http")
    if user:
        site.login(user, password)
    return site


def _revisions(wiki, page: str) -> list[dict]:
    return list(_site(wiki).pages[page].revisions(prop="ids|user"))


@pytest.fixture
def meeting(tmp_path: Path, wiki, monkeypatch: pytest.MonkeyPatch, request) -> Path:
    page = f"Notes/{request.node.name}"
    config = write_config(tmp_path, f"""
[wiki]
api_url = "{wiki.api_url}"
page = "{page}"
username = "{wiki.username}"
password_env = "TEST_WIKI_PASSWORD"
summary = "Notes of the call"
""")
    monkeypatch.setenv("TEST_WIKI_PASSWORD", wiki.password)
    build_store(tmp_path / "meeting.db", [
        ("submit", email_in("m1@example.org", "ann@example.org", "Ann", HOSTILE)),
        ("submit", email_in("m2@example.org", "bob@example.org", "Bob", "What about grants?")),
        ("cmd", ("approve", 1, {})), ("cmd", ("go_live", 1, {})),
        ("cmd", ("answered", 1, {})),
        ("cmd", ("note", 1, {"note": "Maggie said the fix ships in March."})),
        ("cmd", ("follow_up", 2, {})),
    ])
    return config


def test_publish_creates_then_republish_makes_no_revision(meeting: Path, wiki, capsys) -> None:
    page = load_config(meeting).wiki.page
    assert main(["publish", "--config", str(meeting)]) == 0
    assert "created" in capsys.readouterr().out
    revisions = _revisions(wiki, page)
    assert len(revisions) == 1 and revisions[0]["user"] == "Notetaker"
    assert record_path(load_config(meeting)).is_file()

    assert main(["publish", "--config", str(meeting)]) == 0
    assert "no edit made" in capsys.readouterr().out
    assert len(_revisions(wiki, page)) == 1


def test_a_change_updates_the_page(meeting: Path, wiki, capsys) -> None:
    page = load_config(meeting).wiki.page
    assert main(["publish", "--config", str(meeting)]) == 0
    build_store(meeting.parent / "meeting.db",
                [("cmd", ("note", 1, {"note": "Grants open again in May."}))])
    assert main(["publish", "--config", str(meeting)]) == 0
    assert "updated" in capsys.readouterr().out
    assert len(_revisions(wiki, page)) == 2
    assert "Grants open again in May." in _site(wiki).pages[page].text()


def test_a_page_edited_meanwhile_is_refused_until_forced(meeting: Path, wiki, capsys) -> None:
    page = load_config(meeting).wiki.page
    assert main(["publish", "--config", str(meeting)]) == 0
    editor = _site(wiki, "Editor", "Editor-password-12345")
    editor.pages[page].edit("Their own words.", summary="a typo")
    build_store(meeting.parent / "meeting.db",
                [("cmd", ("note", 1, {"note": "Grants open again in May."}))])
    capsys.readouterr()
    assert main(["publish", "--config", str(meeting)]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "Editor" in err and len(err.strip().splitlines()) == 1
    assert _site(wiki).pages[page].text() == "Their own words."

    assert main(["publish", "--config", str(meeting), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "-Their own words." in captured.out and "would refuse" in captured.err
    assert main(["publish", "--config", str(meeting), "--force"]) == 0
    assert "Grants open again in May." in _site(wiki).pages[page].text()


def test_rendered_page_has_the_notes_and_user_text_stays_text(meeting: Path, wiki) -> None:
    page = load_config(meeting).wiki.page
    assert main(["publish", "--config", str(meeting)]) == 0
    parsed = _site(wiki).get("parse", page=page, prop="text|links|templates",
                             formatversion="2")["parse"]
    html = parsed["text"]
    assert "Maggie said the fix ships in March." in html
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", html))
    assert "[[Main Page]]" in text and "{{delete|now}}" in text
    assert "<script>" not in html and "<script>alert(1)</script>" in text
    assert not [link for link in parsed["links"] if link["title"] == "Main Page"]
    assert parsed["templates"] == []


def test_dry_run_changes_nothing(meeting: Path, wiki, capsys, monkeypatch) -> None:
    page = load_config(meeting).wiki.page
    monkeypatch.delenv("TEST_WIKI_PASSWORD")  # a dry run needs no password on a public wiki
    assert main(["publish", "--config", str(meeting), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "Maggie said the fix ships in March." in captured.out
    assert "would create" in captured.err
    assert not _site(wiki).pages[page].exists


def test_bad_login_is_one_clear_line(meeting: Path, wiki, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TEST_WIKI_PASSWORD", "wrongwrongwrongwrongwrongwrong00")
    assert main(["publish", "--config", str(meeting)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refused the login" in err


def test_unreachable_wiki_is_one_clear_line(tmp_path: Path, capsys, monkeypatch) -> None:
    from tests.support.after_call import free_port

    config = write_config(tmp_path, f"""
[wiki]
api_url = "http://127.0.0.1:{free_port()}/w/api.php"
page = "Notes"
username = "Bot@townhall"
""")
    monkeypatch.setenv("TOWNHALL_WIKI_PASSWORD", "x" * 32)
    build_store(tmp_path / "meeting.db", [])
    assert main(["publish", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach the wiki" in err
