"""`townhall preflight` as a real subprocess against real local servers: pymap for IMAP, the
fake YouTube API, the Zoom cloud fake (OAuth + websocket), and Townhall's own server for the
public URL. Each broken credential must fail its line clearly, and only its line."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from aggregator.config import parse_config
from tests.conftest import townhall
from tests.support.imap_server import PymapServer, free_port
from tests.support.zoom_cloud import FakeZoomCloud
from townhall.runtime import Runtime
from townhall.simulators.mail_writer import build_mail
from townhall.simulators.youtube_api import FakeYouTubeAPI

VIDEO = "dQw4w9WgXcQ"
ENV = {"TH_PF_IMAP": "secret", "TH_PF_YT": "test-key", "TH_PF_ZOOM_ID": "client-id",
       "TH_PF_ZOOM_SECRET": "client-secret", "TH_PF_WEBHOOK": "whsec"}


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PymapServer]:
    server = PymapServer(tmp_path_factory.mktemp("pymap")).start()
    now = datetime.now(timezone.utc)
    server.append(
        build_mail("Question for Maggie", "Sent yesterday?", date=now - timedelta(days=1)),
        build_mail("Re: Question for Maggie", "a reply", date=now - timedelta(days=1)),
        build_mail("Question for Maggie", "Sent two months ago?", date=now - timedelta(days=60)),
        build_mail("Lunch?", "not a question for the meeting"),
        build_mail("Question for Maggie", "Sent today?"))
    yield server
    server.stop()


@dataclass
class Services:
    imap: PymapServer
    youtube: FakeYouTubeAPI
    zoom: FakeZoomCloud
    tmp: Path

    def config(self, *, zoom_mode: str = "websocket", extra: str = "",
               server: str = "") -> Path:
        since = (date.today() - timedelta(days=10)).isoformat()
        text = (
            f'[store]\npath = "{self.tmp / "t.db"}"\n'
            f'[server]\nport = {free_port()}\n{server}'
            f'[email]\nenabled = true\nhost = "127.0.0.1"\nport = {self.imap.port}\n'
            f'security = "plain"\nusername = "{self.imap.user}"\npassword_env = "TH_PF_IMAP"\n'
            f'subject_include = ["Question for Maggie"]\nsince = "{since}"\n'
            f'[youtube]\nenabled = true\nvideo = "{VIDEO}"\napi_key_env = "TH_PF_YT"\n'
            f'api_endpoint = "{self.youtube.url}"\ndaily_quota_units = 10000\n'
            f'[zoom]\nenabled = true\nmode = "{zoom_mode}"\nclient_id_env = "TH_PF_ZOOM_ID"\n'
            f'client_secret_env = "TH_PF_ZOOM_SECRET"\naccount_id = "{self.zoom.account_id}"\n'
            f'token_url = "{self.zoom.token_url}"\n'
            f'subscription_url = "{self.zoom.subscription_url}"\n'
            f'secret_token_env = "TH_PF_WEBHOOK"\n{extra}')
        path = self.tmp / "townhall.toml"
        path.write_text(text)
        return path


@pytest.fixture
async def services(imap: PymapServer, tmp_path: Path) -> AsyncIterator[Services]:
    async with FakeYouTubeAPI() as youtube, FakeZoomCloud() as zoom:
        youtube.add_video(VIDEO, "chat-1")
        yield Services(imap, youtube, zoom, tmp_path)


async def preflight(config: Path, *args: str, **env: str):
    return await asyncio.to_thread(townhall, "preflight", "--config", str(config), *args,
                                   env={**ENV, **env})


def lines(output: str) -> dict[str, str]:
    """name -> its line, for the `ok` / `FAIL` lines."""
    found = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "FAIL"):
            name = rest.strip().split(":", 1)[0]
            found[name] = line
    return found


async def test_everything_configured_and_working_passes(services: Services) -> None:
    result = await preflight(services.config())
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result.stdout)
    assert set(found) == {"server", "email", "youtube", "zoom"}
    assert all(line.startswith("ok ") for line in found.values())
    email = found["email"]
    assert f"as {services.imap.user}" in email and "INBOX selected (5 mails)" in email
    # yesterday's and today's questions; not the reply, the lunch or the one sent 60 days ago
    assert "2 match the subject rules since" in email
    youtube = found["youtube"]
    assert f"API key valid; video {VIDEO} is live, chat id chat-1" in youtube
    assert "9,999 of 10,000 units left today" in youtube  # the check's own videos.list
    assert "OAuth token fetched; the websocket subscription accepted it" in found["zoom"]
    assert services.zoom.connections == 1 and services.zoom.live_connections == 0
    assert "4 of 4 checks passed" in result.stdout


async def test_wrong_imap_password_fails_the_email_line_only(services: Services) -> None:
    result = await preflight(services.config(), TH_PF_IMAP="wrong")
    assert result.returncode == 1
    found = lines(result.stdout)
    assert found["email"].startswith("FAIL  email:")
    assert "refused the login of maggie" in found["email"]
    assert "fix: check the password in $TH_PF_IMAP" in found["email"]
    assert "wrong" not in found["email"]  # the password is never shown
    assert all(found[name].startswith("ok ") for name in ("server", "youtube", "zoom"))


async def test_bad_youtube_key_says_to_check_the_key(services: Services) -> None:
    result = await preflight(services.config(), TH_PF_YT="not-the-key")
    assert result.returncode == 1
    youtube = lines(result.stdout)["youtube"]
    assert youtube.startswith("FAIL  youtube: YouTube refused: 400 keyInvalid")
    assert "fix: check the API key" in youtube and "not-the-key" not in youtube


async def test_unknown_video_and_ended_stream_fail(services: Services) -> None:
    config = services.config()
    config.write_text(config.read_text().replace(VIDEO, "AAAAAAAAAAA"))
    assert "video AAAAAAAAAAA was not found" in lines((await preflight(config)).stdout)["youtube"]
    services.youtube.end_chat("chat-1")
    services.youtube.videos[VIDEO].ended = True
    result = await preflight(services.config())
    assert result.returncode == 1
    assert f"video {VIDEO} has ended" in lines(result.stdout)["youtube"]


async def test_wrong_zoom_client_secret_fails_before_any_connection(
        services: Services) -> None:
    result = await preflight(services.config(), TH_PF_ZOOM_SECRET="wrong-secret")
    assert result.returncode == 1
    zoom = lines(result.stdout)["zoom"]
    assert zoom.startswith("FAIL  zoom: no OAuth token: the Zoom token URL answered HTTP 401")
    assert "client_secret_env" in zoom and "wrong-secret" not in zoom
    assert services.zoom.connections == 0


async def test_public_url_answered_through_the_tunnel(services: Services) -> None:
    # no Townhall running: the stand-in on [server] port answers; the "tunnel" here is the
    # loopback address of that same port
    config = services.config(zoom_mode="webhook")
    port = parse_config(config.read_text()).server.port
    config.write_text(config.read_text() + f'public_url = "http://127.0.0.1:{port}"\n')
    result = await preflight(config)
    assert result.returncode == 0, result.stdout
    assert "reaches this machine's port (a stand-in answered)" in lines(result.stdout)["zoom"]

    # with Townhall itself serving there, its own /healthz answers
    async with Runtime(parse_config(config.read_text(), source=str(config)),
                       collectors=[]) as runtime:
        assert runtime.bound_port == port
        result = await preflight(config)
    assert result.returncode == 0, result.stdout
    assert f"http://127.0.0.1:{port} reaches Townhall" in lines(result.stdout)["zoom"]


async def test_unreachable_or_wrong_public_url_fails(services: Services) -> None:
    config = services.config(zoom_mode="webhook")
    text = config.read_text()
    closed = free_port()
    config.write_text(text + f'public_url = "http://127.0.0.1:{closed}"\n')
    result = await preflight(config)
    assert result.returncode == 1
    zoom = lines(result.stdout)["zoom"]
    assert f"http://127.0.0.1:{closed} is unreachable" in zoom
    assert "fix: start the tunnel" in zoom

    # a tunnel that reaches some other server (here the YouTube fake: 404 on /healthz)
    config.write_text(text + f'public_url = "{services.youtube.url}"\n')
    zoom = lines((await preflight(config)).stdout)["zoom"]
    assert zoom.startswith("FAIL  zoom:") and "answered HTTP 404" in zoom

    # the webhook secret itself missing
    result = await preflight(config, TH_PF_WEBHOOK="")
    assert "TH_PF_WEBHOOK (named by [zoom] secret_token_env) is not set" in \
        lines(result.stdout)["zoom"]


async def test_reachable_server_without_tokens_fails(services: Services) -> None:
    config = services.config(server='host = "0.0.0.0"\n')
    result = await preflight(config, TOWNHALL_MODERATOR_TOKEN="", TOWNHALL_HOST_TOKEN="",
                             TOWNHALL_OVERLAY_TOKEN="")
    assert result.returncode == 1
    server = lines(result.stdout)["server"]
    assert server.startswith("FAIL  server: 0.0.0.0:") and "TOWNHALL_MODERATOR_TOKEN" in server
    result = await preflight(config, TOWNHALL_MODERATOR_TOKEN="m" * 32,
                             TOWNHALL_HOST_TOKEN="h" * 32, TOWNHALL_OVERLAY_TOKEN="o" * 32)
    assert lines(result.stdout)["server"].startswith("ok    server:")


async def test_a_silent_server_is_bounded_by_the_timeout(services: Services) -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        config = services.config()
        config.write_text(config.read_text().replace(f"port = {services.imap.port}\n",
                                                     f"port = {silent.getsockname()[1]}\n"))
        result = await preflight(config, "--timeout", "1")
    assert result.returncode == 1
    email = lines(result.stdout)["email"]
    assert email.startswith("FAIL  email:")
    assert "no answer within 1 s" in email or "timed out" in email
    assert lines(result.stdout)["youtube"].startswith("ok ")


async def test_maildir_source_counts_by_the_same_rules(services: Services) -> None:
    from townhall.simulators.mail_writer import MaildirWriter

    writer = MaildirWriter(services.tmp / "Maildir")
    now = datetime.now(timezone.utc)
    writer.deliver(build_mail("Question for Maggie", "Recent?", date=now))
    writer.deliver(build_mail("Question for Maggie", "Old?", date=now - timedelta(days=60)))
    config = services.config()
    config.write_text(config.read_text().replace(
        'host = "127.0.0.1"\n', f'maildir = "{services.tmp / "Maildir"}"\n', 1))
    result = await preflight(config)
    assert result.returncode == 0, result.stdout
    assert "1 mails match the subject rules since" in lines(result.stdout)["email"]


def test_nothing_configured_checks_the_server_only(tmp_path: Path) -> None:
    config = tmp_path / "empty.toml"
    config.write_text("")
    result = townhall("preflight", "--config", str(config))
    assert result.returncode == 0
    assert list(lines(result.stdout)) == ["server"] and "1 of 1 checks passed" in result.stdout
