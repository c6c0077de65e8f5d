"""OAuth: the collector with a token file, refresh and revocation, and `townhall youtube-login`.

The fake API also plays Google's token endpoint (`POST /token`), so the real google-auth and
google-auth-oauthlib code runs end to end on loopback.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aggregator.collectors.base import CollectorStopped
from aggregator.queue import QuestionQueue
from townhall.simulators.youtube_api import FakeYouTubeAPI
from tests.conftest import ROOT
from tests.support.youtube_helpers import collector, run_to_end, run_until, yt_config


@pytest.fixture
async def fake() -> AsyncIterator[FakeYouTubeAPI]:
    async with FakeYouTubeAPI(polling_millis=10) as api:
        api.add_chat("my-chat", broadcast=True)
        yield api


def token_file(path: Path, fake: FakeYouTubeAPI, *, token: str, refresh: str,
               expired: bool = False) -> Path:
    expiry = datetime.now(timezone.utc) + timedelta(hours=-1 if expired else 1)
    path.write_text(json.dumps({
        "token": token, "refresh_token": refresh, "token_uri": fake.url + "token",
        "client_id": "cid", "client_secret": "csecret",
        "scopes": ["https://www.googleapis.com/auth/youtube.readonly"],
        "expiry": expiry.replace(tzinfo=None).isoformat() + "Z"}))
    return path


async def test_oauth_finds_the_active_broadcast(fake: FakeYouTubeAPI, queue: QuestionQueue,
                                                tmp_path: Path) -> None:
    fake.access_tokens.add("good")
    path = token_file(tmp_path / "token.json", fake, token="good", refresh="r")
    fake.say("my-chat", "from my own stream?")
    c = collector(yt_config(fake.url, video="", oauth_token_file=str(path)))
    await run_until(c, queue, lambda: len(queue) == 1)
    assert any(r.path.endswith("/liveBroadcasts") for r in fake.requests)
    chat = [r for r in fake.requests if r.path.endswith("/liveChat/messages")]
    assert chat[0].authorization == "Bearer good" and "key" not in chat[0].params


async def test_an_expired_token_is_refreshed_and_saved_owner_only(
        fake: FakeYouTubeAPI, queue: QuestionQueue, tmp_path: Path) -> None:
    fake.refresh_tokens.add("r1")
    path = token_file(tmp_path / "token.json", fake, token="stale", refresh="r1", expired=True)
    fake.say("my-chat", "after refresh?")
    c = collector(yt_config(fake.url, video="", oauth_token_file=str(path)))
    await run_until(c, queue, lambda: len(queue) == 1)
    saved = json.loads(path.read_text())
    assert saved["token"] in fake.access_tokens and saved["refresh_token"] == "r1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_revoked_token_stops_with_a_clear_message(
        fake: FakeYouTubeAPI, queue: QuestionQueue, tmp_path: Path) -> None:
    path = token_file(tmp_path / "token.json", fake, token="stale", refresh="gone", expired=True)
    c = collector(yt_config(fake.url, video="", oauth_token_file=str(path)))
    with pytest.raises(CollectorStopped, match="revoked or has expired") as info:
        await run_to_end(c, queue)
    assert "townhall youtube-login" in str(info.value) and "gone" not in str(info.value)


async def test_a_401_mid_run_refreshes_once_then_continues(
        fake: FakeYouTubeAPI, queue: QuestionQueue, tmp_path: Path) -> None:
    fake.access_tokens.add("good")
    fake.refresh_tokens.add("r1")
    path = token_file(tmp_path / "token.json", fake, token="good", refresh="r1")
    c = collector(yt_config(fake.url, video="", oauth_token_file=str(path)))
    await run_until(c, queue, lambda: len(fake.requests) >= 2)
    fake.access_tokens.discard("good")  # Google invalidated the access token
    fake.say("my-chat", "after a 401?")
    await run_until(c, queue, lambda: len(queue) == 1)
    assert json.loads(path.read_text())["token"] in fake.access_tokens


async def test_a_missing_token_file_stops_naming_the_command(
        fake: FakeYouTubeAPI, queue: QuestionQueue, tmp_path: Path) -> None:
    c = collector(yt_config(fake.url, video="", oauth_token_file=str(tmp_path / "none.json")))
    with pytest.raises(CollectorStopped, match="townhall youtube-login"):
        await run_to_end(c, queue)


def test_youtube_login_runs_the_installed_app_flow(tmp_path: Path) -> None:
    fake = FakeYouTubeAPI()
    url = fake.start_in_thread()
    try:
        (tmp_path / "client_secret.json").write_text(json.dumps({"installed": {
            "client_id": "cid", "client_secret": "csecret", "auth_uri": url + "auth",
            "token_uri": url + "token", "redirect_uris": ["http://localhost"]}}))
        config = tmp_path / "townhall.toml"
        config.write_text('[youtube]\noauth_token_file = "token.json"\n'
                          'client_secrets_file = "client_secret.json"\n')
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
               # the fake token endpoint is plain http on loopback
               "OAUTHLIB_INSECURE_TRANSPORT": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "townhall", "youtube-login", "--config", str(config),
             "--no-browser", "--timeout", "30"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env)
        try:
            consent_url = None
            for _ in range(20):
                line = proc.stdout.readline()  # type: ignore[union-attr]
                match = re.search(r"(http://\S+/auth\?\S+)", line)
                if match:
                    consent_url = match.group(1)
                    break
            assert consent_url, "youtube-login printed no consent URL"
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(consent_url).query)
            assert query["access_type"] == ["offline"]
            assert query["scope"] == ["https://www.googleapis.com/auth/youtube.readonly"]
            redirect = query["redirect_uri"][0].replace("localhost", "127.0.0.1")
            back = f"{redirect}?state={query['state'][0]}&code=the-code"
            with urllib.request.urlopen(back, timeout=10) as response:
                assert b"Townhall" in response.read()
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 0, err
        token = tmp_path / "token.json"
        assert "saved the YouTube token" in out
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        saved = json.loads(token.read_text())
        assert saved["refresh_token"] in fake.refresh_tokens
        assert saved["token"] not in out + err  # never printed
    finally:
        fake.stop_thread()


def test_youtube_login_without_a_client_file_names_the_key(tmp_path: Path) -> None:
    from tests.conftest import townhall

    config = tmp_path / "townhall.toml"
    config.write_text('[youtube]\noauth_token_file = "token.json"\n')
    proc = townhall("youtube-login", "--config", str(config), "--no-browser")
    assert proc.returncode == 2
    assert "[youtube] client_secrets_file" in proc.stderr and "Desktop app" in proc.stderr
