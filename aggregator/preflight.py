"""`townhall preflight`: before the call, try every configured source and service for real.

`check-config` reads the file; this module talks to the servers, because what fails at the
start of a meeting is rarely a missing key but a password that changed, a video id from last
week, a token for the wrong Zoom app, or a tunnel that points nowhere. Each check does the
smallest real thing that proves the part works (log in, select, fetch one token, ask for one
video) and answers one `Result`: what it found, or what failed and the fix.

Rules:
- Every check runs under its own timeout (`timeout` seconds), so one dead server cannot hold
  the others; blocking clients (IMAP, SMTP) also get socket timeouts no longer than that.
- Checks run at the same time and are reported in a fixed order.
- Nothing is written: the store is only read (for the YouTube units spent today), IMAP
  mailboxes are EXAMINEd, no mail is sent, no page is edited.
- Secrets never appear in a result: messages name the environment variable instead.

The mail checks (IMAP, Maildir, SMTP) live in `preflight_mail.py`; the wiki check makes the
login `townhall publish` makes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiohttp import web

from .config import Config, ConfigError
from .net import is_loopback
from .sanitize import clean_line

DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Result:
    """One line of the report."""

    name: str
    ok: bool
    message: str  # what was found, or what failed
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.name}: {self.message}"
        return f"FAIL  {self.name}: {self.message}" + (f"; fix: {self.fix}" if self.fix else "")


Check = Callable[[Config, float], Awaitable[Result]]


def ok(name: str, message: str) -> Result:
    return Result(name, True, message)


def fail(name: str, message: str, fix: str = "") -> Result:
    return Result(name, False, message, fix)


def planned(config: Config) -> list[tuple[str, Check]]:
    """The checks this config asks for, in report order."""
    from . import preflight_mail

    checks: list[tuple[str, Check]] = [("server", check_server)]
    if config.email.enabled:
        checks.append(("email", preflight_mail.check_email))
    if config.youtube.enabled:
        checks.append(("youtube", check_youtube))
    if config.zoom.enabled:
        checks.append(("zoom", check_zoom))
    if config.wiki.api_url:
        checks.append(("wiki", check_wiki))
    if config.smtp.host:
        checks.append(("smtp", preflight_mail.check_smtp))
    return checks


async def run_checks(config: Config, timeout: float = DEFAULT_TIMEOUT) -> list[Result]:
    """Every planned check, concurrently, each bounded by `timeout` seconds."""

    async def bounded(name: str, check: Check) -> Result:
        try:
            async with asyncio.timeout(timeout):
                return await check(config, timeout)
        except TimeoutError:
            return fail(name, f"no answer within {timeout:g} s",
                        "check the host name, port and network (or raise --timeout)")
        except Exception as exc:  # noqa: BLE001 - a check's bug must not hide the others
            return fail(name, f"the check itself failed ({type(exc).__name__}: "
                              f"{clean_line(exc, 150)})")

    return list(await asyncio.gather(*(bounded(name, check) for name, check in planned(config))))


# --- server -----------------------------------------------------------------------------------


async def check_server(config: Config, timeout: float) -> Result:
    server = config.server
    where = f"{server.host}:{server.port}"
    if is_loopback(server.host):
        return ok("server", f"{where} is on loopback: only this machine can reach it, tokens "
                            "are optional")
    envs = {"moderator": server.moderator_token_env, "host": server.host_token_env,
            "overlay": server.overlay_token_env}
    missing = [f"{env or '(none)'} ({role})" for role, env in envs.items()
               if not config.secret(env)]
    if missing:
        return fail("server", f"{where} is reachable from other machines but "
                              f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                              "not set",
                    "export a long random token in each (e.g. `python3 -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'`)")
    return ok("server", f"{where} is reachable from other machines; all three role tokens set")


# --- YouTube ----------------------------------------------------------------------------------


async def check_youtube(config: Config, timeout: float) -> Result:
    from .collectors.youtube_client import ApiError, YouTubeApi
    from .collectors.youtube_parse import parse_video_id, read_broadcast_chat
    from .youtube_login import TokenError, load_credentials

    yt = config.youtube
    if yt.oauth_token_file:
        try:
            creds = await asyncio.to_thread(load_credentials,
                                            config.relative(yt.oauth_token_file))
        except TokenError as exc:
            return fail("youtube", str(exc), "run `townhall youtube-login`")
        api = YouTubeApi(credentials=creds, api_endpoint=yt.api_endpoint, timeout=timeout)
        how = "OAuth token valid"
    else:
        key = config.secret(yt.api_key_env)
        if not key:
            return fail("youtube", f"environment variable {yt.api_key_env or '(none)'} (named by "
                                   "[youtube] api_key_env) is not set",
                        "export your YouTube Data API key in it, or set [youtube] "
                        "oauth_token_file")
        api = YouTubeApi(api_key=key, api_endpoint=yt.api_endpoint, timeout=timeout)
        how = "API key valid"
    spent = 0
    try:
        if yt.video:
            video_id = parse_video_id(yt.video)
            response = await api.call("videos.list", part="liveStreamingDetails", id=video_id)
            spent += 1
            found = _video_state(response)
            if found is None:
                return fail("youtube", f"{how}, but video {video_id} was not found",
                            "check [youtube] video (a private or deleted video is not visible "
                            "to the API)")
            state, chat_id = found
            what = f"video {video_id} {state}" + (f", chat id {chat_id}" if chat_id else "")
            if state == "has ended":
                return fail("youtube", f"{how}; {what}", "set [youtube] video to this "
                                                         "meeting's stream")
        elif yt.live_chat_id:
            await api.call("liveChatMessages.list", liveChatId=yt.live_chat_id,
                           part="id", maxResults=1)
            spent += 5
            what = f"chat {yt.live_chat_id} readable"
        elif api.uses_oauth:
            response = await api.call("liveBroadcasts.list", part="snippet",
                                      broadcastStatus="active", broadcastType="all")
            spent += 1
            chat_id = read_broadcast_chat(response)
            what = (f"active broadcast found, chat id {chat_id}" if chat_id
                    else "no active broadcast yet (the collector waits for one)")
        else:
            return fail("youtube", "no [youtube] video or live_chat_id",
                        "set [youtube] video to the stream's URL")
    except ApiError as exc:
        return fail("youtube", f"YouTube refused: {exc.describe()}", _youtube_fix(exc))
    return ok("youtube", f"{how}; {what}; {_units_left(config, spent)}")


def _video_state(response: Any) -> tuple[str, str | None] | None:
    """("is live" / "has not started (scheduled ...)" / "has ended", chat id), or None."""
    items = response.get("items") if isinstance(response, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return None
    details = items[0].get("liveStreamingDetails")
    details = details if isinstance(details, dict) else {}
    chat = details.get("activeLiveChatId")
    chat_id = clean_line(chat, 120) if isinstance(chat, str) and chat else None
    if details.get("actualEndTime"):
        return "has ended", None
    if details.get("actualStartTime"):
        return "is live", chat_id
    scheduled = details.get("scheduledStartTime")
    if isinstance(scheduled, str):
        return f"has not started (scheduled {clean_line(scheduled, 40)})", chat_id
    return "is not a live stream", None


def _youtube_fix(exc: Any) -> str:
    reason = exc.reason or ""
    if reason in ("keyInvalid", "badRequest") or (exc.status == 400 and not reason):
        return "check the API key in the environment variable [youtube] api_key_env names"
    if exc.kind in ("auth", "revoked"):
        return "run `townhall youtube-login` again"
    if exc.kind == "quota":
        return "the day's quota is used up; it renews at midnight Pacific time"
    if reason == "liveChatNotFound":
        return "check [youtube] live_chat_id (or set video instead)"
    if exc.kind == "transient":
        return "YouTube or the network failed for now: try again in a minute"
    return "check the credentials and that this account may read the chat"


def _units_left(config: Config, spent_now: int) -> str:
    """Units left today by Townhall's own count (the store's checkpoint), after this check."""
    from .collectors.youtube_quota import pacific_day

    daily = config.youtube.daily_quota_units
    spent = spent_now
    path = config.store_path
    if path.exists():
        from .store import Store, StoreError

        try:
            with Store(path, exclusive=False) as store:
                state = store.checkpoint("youtube")
        except (StoreError, OSError):
            state = None
        if isinstance(state, dict) and state.get("quota_day") == pacific_day(
                datetime.now(timezone.utc)) and isinstance(state.get("quota_units"), int):
            spent += state["quota_units"]
    return f"{max(daily - spent, 0):,} of {daily:,} units left today"


# --- Zoom -------------------------------------------------------------------------------------


async def check_zoom(config: Config, timeout: float) -> Result:
    if config.zoom.mode == "websocket":
        return await _zoom_websocket(config, timeout)
    zoom = config.zoom
    if not config.secret(zoom.secret_token_env):
        return fail("zoom", f"environment variable {zoom.secret_token_env or '(none)'} (named by "
                            "[zoom] secret_token_env) is not set",
                    "copy the Secret Token from your Zoom app's event subscription into it")
    if not zoom.public_url:
        return ok("zoom", "webhook secret set ([zoom] public_url not set: the tunnel is not "
                          "checked)")
    return await _public_url(config, timeout)


async def _zoom_websocket(config: Config, timeout: float) -> Result:
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    from .collectors.zoom_oauth import MissingCredentials, TokenError, oauth_from_config, redact
    from .collectors.zoom_ws import subscription_url_problem, with_token

    try:
        oauth = oauth_from_config(config)
    except MissingCredentials as exc:
        return fail("zoom", str(exc))
    problem = subscription_url_problem(config.zoom.subscription_url)
    if problem:
        return fail("zoom", problem)
    try:
        token = await oauth.fetch()
    except TokenError as exc:
        said = str(exc)  # a refusal already names the keys to check
        return fail("zoom", f"no OAuth token: {said}",
                    "" if "Check the client id" in said else "check [zoom] token_url and the "
                                                             "network")
    try:
        async with connect(with_token(config.zoom.subscription_url, token.value),
                           open_timeout=timeout, ping_interval=None, close_timeout=1) as ws:
            first = json.loads(await ws.recv())
    except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
        return fail("zoom", f"OAuth token fetched, but the subscription did not answer "
                            f"({type(exc).__name__}: {redact(clean_line(exc, 120))})",
                    "check [zoom] subscription_url (copy it from the app's event subscription)")
    if not (isinstance(first, dict) and first.get("module") == "build_connection"
            and first.get("success") is True):
        said = clean_line(first.get("content") if isinstance(first, dict) else first, 100)
        return fail("zoom", f"OAuth token fetched, but Zoom refused the subscription: "
                            f"{said or 'no reason given'}",
                    "the subscription must belong to the same app as the client id")
    return ok("zoom", "OAuth token fetched; the websocket subscription accepted it")


async def _public_url(config: Config, timeout: float) -> Result:
    """GET `{public_url}/healthz` from outside. When no server listens on [server] port yet,
    a stand-in answers there with a one-time value, so the check proves that the tunnel
    reaches this machine's port even before `townhall run`."""
    url = config.zoom.public_url.rstrip("/") + "/healthz"
    nonce = secrets.token_hex(12)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"collectors": [], "preflight": nonce})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner: web.AppRunner | None = None
    from .server.site import start_site

    try:
        runner, _ = await start_site(app, config.server.host, config.server.port)
    except OSError:
        runner = None  # something listens there already: Townhall itself, we expect
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.get(url, allow_redirects=False) as response:
                status = response.status
                body = await response.content.read(64 * 1024)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return fail("zoom", f"webhook secret set, but {config.zoom.public_url} is unreachable "
                            f"({type(exc).__name__}: {clean_line(exc, 120)})",
                    "start the tunnel (e.g. cloudflared, ngrok) to [server] port "
                    f"{config.server.port}, and put its address in [zoom] public_url")
    finally:
        if runner is not None:
            await runner.cleanup()
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    reached = isinstance(data, dict) and (data.get("preflight") == nonce if runner is not None
                                          else isinstance(data.get("collectors"), list))
    if status != 200 or not reached:
        return fail("zoom", f"webhook secret set, but {url} answered HTTP {status} without "
                            "Townhall's health",
                    f"point the tunnel at [server] port {config.server.port} on this machine")
    who = "this machine's port (a stand-in answered)" if runner is not None else "Townhall"
    return ok("zoom", f"webhook secret set; {config.zoom.public_url} reaches {who}")


# --- wiki -------------------------------------------------------------------------------------


async def check_wiki(config: Config, timeout: float) -> Result:
    """The login `townhall publish` makes (aggregator/publish.py, through mwclient), in a
    thread: the same code, so a pass here means publish can log in."""
    from .publish import PublishError, connect

    try:
        await asyncio.to_thread(connect, config, login=True)
    except ConfigError as exc:
        return fail("wiki", f"{exc.key} {exc.problem}", exc.fix)
    except PublishError as exc:
        return fail("wiki", clean_line(exc, 200),
                    "check [wiki] api_url, username (User@botname) and the password in "
                    f"${config.wiki.password_env}")
    return ok("wiki", f"logged in to {config.wiki.api_url} as {config.wiki.username}")


def render(results: list[Result]) -> str:
    return "\n".join(result.line() for result in results)
