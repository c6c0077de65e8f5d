"""`townhall demo`: the whole product on loopback, with no account anywhere.

The real collectors run against local simulators: the YouTube collector streams the chat of a
fake YouTube API (polling is its fallback, as with YouTube), the Zoom collector receives signed
webhooks on the real endpoint, the email collector watches a Maildir the demo writes mail
into. The scripted meeting (demo_script.py) plays through those channels. Nothing here talks to the queue directly except
the optional auto-moderator, which uses the same commands a moderator sends.

`DemoWorld` sets everything up and tears it down; `play()` drives the script; the TUI front end
lives in townhall/demo_tui.py, the headless one is `run_headless()` below.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from aggregator.aio import cancel_and_wait, stop_on_signals
from aggregator.commands import Command, CommandError
from aggregator.config import Config, load_config
from aggregator.model import Status
from aggregator.queue import QuestionQueue

from .demo_script import (
    ANSWERERS, BANNED_CHANNEL, DURATION, HOST, MEETING_TITLE, SCRIPT, SUBJECT_PHRASE, TOPICS, Beat,
)
from .runtime import Runtime
from .simulators.mail_writer import MaildirWriter, build_mail
from .simulators.youtube_api import FakeYouTubeAPI
from .simulators.zoom_sender import ZoomWebhookSender, chat_event
from .urls import invoked_as

VIDEO_ID = "townhallDem"  # 11 characters, like a real video id
ENV = {
    "moderator": "TOWNHALL_DEMO_MODERATOR_TOKEN",
    "host": "TOWNHALL_DEMO_HOST_TOKEN",
    "overlay": "TOWNHALL_DEMO_OVERLAY_TOKEN",
    "zoom": "TOWNHALL_DEMO_ZOOM_SECRET",
    "youtube": "TOWNHALL_DEMO_YOUTUBE_KEY",
}
AUTO_MODERATOR = "demo-moderator"


@dataclass
class DemoOptions:
    speed: float = 1.0
    seconds: float | None = None  # stop after this long (headless); None: play the script
    store: Path | None = None  # keep the store here; None: a temporary file
    port: int | None = None
    auto_moderate: bool = False


def free_port(preferred: int = 8765) -> int:
    """`preferred` when nothing listens there, otherwise any free loopback port."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free TCP port on 127.0.0.1")


class DemoWorld:
    """The temporary folder, the generated secrets, the simulators and the config."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.folder = Path(tempfile.mkdtemp(prefix="townhall-demo-"))
        self.maildir = MaildirWriter(self.folder / "Maildir")
        self.youtube = FakeYouTubeAPI(api_key=secrets.token_urlsafe(16), polling_millis=1000)
        self.tokens = {role: secrets.token_urlsafe(18) for role in ("moderator", "host", "overlay")}
        self.zoom_secret = secrets.token_urlsafe(24)
        self.port = options.port or free_port()
        self.chat_id = ""
        self.config: Config | None = None
        self._saved_env: dict[str, str | None] = {}

    async def __aenter__(self) -> DemoWorld:
        secrets_by_env = {ENV[role]: token for role, token in self.tokens.items()}
        secrets_by_env[ENV["zoom"]] = self.zoom_secret
        secrets_by_env[ENV["youtube"]] = self.youtube.api_key
        for name, value in secrets_by_env.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        api_url = await self.youtube.start()
        self.chat_id = self.youtube.add_video(VIDEO_ID)
        store = self.options.store or self.folder / "townhall.db"
        config_file = self.folder / "townhall.toml"
        config_file.write_text(self._config_text(store, api_url), encoding="utf-8")
        self.config = load_config(config_file)
        for beat in SCRIPT:  # questions sent in advance are in the inbox before the call
            if beat.channel == "email" and beat.at == 0:
                self.mail(beat, sent=datetime.now(timezone.utc) - timedelta(days=2))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.youtube.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self.folder, ignore_errors=True)

    def _config_text(self, store: Path, api_url: str) -> str:
        topics = ", ".join(f'"{name}" = {list(words)!r}'.replace("'", '"')
                           for name, words in TOPICS.items())
        answerers = ", ".join(f'"{a}"' for a in ANSWERERS)
        return f"""# Written by `townhall demo`: every source points at a local simulator.
[meeting]
title = "{MEETING_TITLE}"
host = "{HOST}"
duration_minutes = 15
answerers = [{answerers}]

[store]
path = "{store}"

[server]
host = "127.0.0.1"
port = {self.port}
moderator_token_env = "{ENV['moderator']}"
host_token_env = "{ENV['host']}"
overlay_token_env = "{ENV['overlay']}"

[zoom]
enabled = true
mode = "webhook"
secret_token_env = "{ENV['zoom']}"

[youtube]
enabled = true
video = "{VIDEO_ID}"
api_key_env = "{ENV['youtube']}"
api_endpoint = "{api_url}"
daily_quota_units = 1000000
transport = "auto"

[email]
enabled = true
maildir = "{self.folder / 'Maildir'}"
subject_include = ["{SUBJECT_PHRASE}"]
subject_exclude = ["Conversation with Maggie"]

[triage]
banned = ["youtube:{BANNED_CHANNEL}"]
topics = {{ {topics} }}
"""

    # --- the channels -----------------------------------------------------------------------

    def mail(self, beat: Beat, sent: datetime | None = None) -> None:
        self.maildir.deliver(build_mail(beat.subject, beat.text, from_name=beat.author,
                                        from_address=beat.author_id, date=sent))

    def say(self, beat: Beat) -> str:
        return self.youtube.say(self.chat_id, beat.text, channel=beat.author_id, name=beat.author)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def urls(self) -> list[tuple[str, str]]:
        return [
            ("host page", f"{self.base_url}/host#token={self.tokens['host']}"),
            ("stream overlay", f"{self.base_url}/overlay#token={self.tokens['overlay']}"),
            ("host in a terminal", f"{invoked_as()} host ws://127.0.0.1:{self.port}/ws "
                                   f"--token {self.tokens['host']}"),
            ("another moderator", f"{invoked_as()} connect ws://127.0.0.1:{self.port}/ws "
                                  f"--token {self.tokens['moderator']} --name Jan"),
        ]

    def banner(self) -> str:
        lines = [f"Townhall demo: {MEETING_TITLE}, scripted over {DURATION / self.options.speed:.0f} s"
                 f" (speed {self.options.speed:g}). Open these while it runs:"]
        lines += [f"  {label:<19} {url}" for label, url in self.urls()]
        return "\n".join(lines)


async def play(world: DemoWorld, speed: float) -> None:
    """Send every beat of the script through its channel, at its time."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent: dict[str, str] = {}
    async with ZoomWebhookSender(f"{world.base_url}/zoom/webhook", world.zoom_secret) as zoom:
        for beat in SCRIPT:
            if beat.channel == "email" and beat.at == 0:
                continue  # delivered before the call started
            delay = started + beat.at / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if beat.channel == "youtube":
                message_id = world.say(beat)
                if beat.key:
                    sent[beat.key] = message_id
            elif beat.channel == "youtube_delete" and beat.key in sent:
                world.youtube.delete(world.chat_id, sent[beat.key])
            elif beat.channel == "zoom":
                event = chat_event(beat.text, sender_name=beat.author,
                                   sender_email=f"{beat.author.split()[0].lower()}@example.org",
                                   recipient_type="host" if beat.private else "everyone")
                with contextlib.suppress(OSError):  # the server may be shutting down
                    await zoom.send(event)
            elif beat.channel == "email":
                world.mail(beat)


async def auto_moderate(queue: QuestionQueue, speed: float) -> None:
    """A stand-in moderator for headless runs: approves likely questions, merges duplicates by
    their hints, and says "next" now and then, so the host page and overlay have something."""
    interval = max(0.2, 20 / speed)
    while True:
        await asyncio.sleep(interval)
        for q in [q for q in queue.all() if q.status is Status.NEW]:
            similar = [hint.id for hint in q.similar if hint.score >= 0.8]
            target = queue.get(similar[0]) if similar else None
            with contextlib.suppress(CommandError):
                if target is not None and target.is_open:
                    await queue.apply(Command(op="merge", question=q.id,
                                              args={"into": target.id}), AUTO_MODERATOR)
                elif q.likely_question >= 0.5 and "private" not in q.flags:
                    await queue.apply(Command(op="approve", question=q.id), AUTO_MODERATOR)
        if queue.host_count() or queue.live_id() is not None:
            with contextlib.suppress(CommandError):
                await queue.apply(Command(op="next"), AUTO_MODERATOR)


def summary(queue: QuestionQueue) -> str:
    questions = queue.all()
    by_source = Counter(q.source for q in questions)
    by_status = Counter(q.status.value for q in questions)
    hinted = sum(1 for q in questions if q.similar)
    banned = sum(1 for q in questions if q.dismiss_reason == "banned")
    withdrawn = sum(1 for q in questions if "withdrawn" in q.flags)
    lines = [f"{len(questions)} questions",
             "  by source: " + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())),
             "  by status: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())),
             f"  with a duplicate hint: {hinted}; dismissed as banned: {banned}; "
             f"withdrawn at the source: {withdrawn}"]
    return "\n".join(lines)


async def run_headless(options: DemoOptions) -> int:
    """Play the meeting without a TUI for `options.seconds` (or until SIGTERM/SIGHUP), then
    print a summary."""
    seconds = options.seconds if options.seconds is not None else DURATION / options.speed
    stop = asyncio.Event()  # SIGTERM / SIGHUP end the play early, with the summary
    with stop_on_signals(stop.set):
        return await _play_headless(options, seconds, stop)


async def _play_headless(options: DemoOptions, seconds: float, stop: asyncio.Event) -> int:
    async with DemoWorld(options) as world:
        assert world.config is not None
        async with Runtime(world.config) as runtime:
            if runtime.bound_port is None:
                print(f"townhall demo: {runtime.health.get('server').reason}")  # type: ignore[union-attr]
                return 1
            print(world.banner(), flush=True)
            tasks = [asyncio.create_task(play(world, options.speed))]
            if options.auto_moderate:
                tasks.append(asyncio.create_task(auto_moderate(runtime.queue, options.speed)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
            await cancel_and_wait(tasks)
            health = ", ".join(f"{h.name} {h.state}" for h in runtime.health.snapshot())
            print(f"collectors: {health}")
            print(summary(runtime.queue), flush=True)
    if options.store:
        print(f"store kept at {options.store}")
    return 0
