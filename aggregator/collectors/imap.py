"""The IMAP collector: IMAPClient in one worker thread behind an asyncio adapter.

Why a thread: IMAPClient is synchronous and `asyncio.to_thread` cannot interrupt a blocked call,
so one dedicated thread owns the connection for its whole life, IDLEs in one-second
`idle_check` steps (noticing a stop request between them) and hands every page of questions to
the event loop with `run_coroutine_threadsafe`, waiting until the queue has committed it.

The loop, per connection:
1. connect (imap_connect.py), `EXAMINE` the mailbox (read-only: the owner's flags never change;
   bodies are fetched with `BODY.PEEK[]` as well);
2. right after SELECT, unless `[email] since` asks for a date search, the backlog is every UID
   from last+1 (or 1) to UIDNEXT-1, fetched as explicit UID lists without a SEARCH first: a
   server that opens each message to answer SEARCH (pymap: ~4 ms a message in a 2,000-mail
   mailbox) would otherwise read the whole backlog twice. UIDs that do not exist are simply
   absent from the answer. With `since`: `SEARCH OR SENTSINCE d SINCE d` (sent since, by the
   Date header, or arrived since for mail without one; see mail_since.py). After IDLE: `UID SEARCH UID last+1:*`, dropping UIDs <= last on our side
   (a range past the end still matches the highest message, the `n:*` gotcha);
3. fetch in pages, skip mail sent before `since` whatever path found it (an old mail appended
   now arrives through the UID search too), parse and filter each mail (email_parse.py), and
   submit each page together
   with the checkpoint `{uidvalidity, last_uid}` in one transaction. The next page is fetched
   while that commit is in flight (at most one at a time, committed in order), so the server
   and the store work at the same time. A rescan after a UIDVALIDITY change is deduplicated by
   Message-ID, which is the question's external id;
4. IDLE in slices (`idle_slice`, default 2 min), then DONE and NOOP under the read timeout; a
   server without IDLE is polled every `poll_interval` (30 s);
5. any timeout, EOF, BYE or error ends the thread; `run()` raises and `supervise()` reconnects
   with exponential backoff and jitter (capped at 60 s). Login and certificate failures stop the
   collector with a message instead: retrying cannot fix them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from ..health import HealthRegistry
from ..model import Incoming
from ..queue import Checkpoint
from .base import CollectorStopped, Sink, submit_counted
from .email_parse import evaluate
from .email_rules import SubjectRules
from .imap_connect import ImapSettings, close_quietly, connect, resolve_login
from .mail_since import sent_before

log = logging.getLogger("townhall.email")

#: Mails larger than this are fetched only up to this size: the question is at the top, and a
#: 50 MB attachment must not be held in memory.
MAX_FETCH_BYTES = 2_000_000
NAME = "email"

#: hands a page to the queue and returns at once with a callable that blocks until committed
Deliver = Callable[[list[Incoming], dict[str, int], dict[str, Any]], Callable[[], None]]
Report = Callable[..., None]


class Stopping(Exception):
    """The adapter asked the worker to stop."""


class ImapWorker:
    """Owns one IMAP connection in its own thread; see the module docstring for the loop."""

    def __init__(self, settings: ImapSettings, rules: SubjectRules,
                 checkpoint: dict[str, int] | None, login: Callable[[], Any],
                 deliver: Deliver, report: Report) -> None:
        self.settings, self.rules, self.login = settings, rules, login
        self.deliver, self.report = deliver, report
        self.uidvalidity = int(checkpoint["uidvalidity"]) if checkpoint else None
        self.last_uid = int(checkpoint["last_uid"]) if checkpoint else None
        self._in_flight: tuple[Callable[[], None], int] | None = None  # (wait, its last UID)
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="townhall-imap", daemon=True)
        self.on_exit: Callable[[], None] = lambda: None

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def _check_stop(self) -> None:
        if self.stop_event.is_set():
            raise Stopping()

    def _main(self) -> None:
        client: IMAPClient | None = None
        try:
            client = connect(self.settings, self.login())
            self._session(client)
        except Stopping:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the adapter, which decides
            self.error = exc
        finally:
            close_quietly(client)
            self.on_exit()

    def _session(self, client: IMAPClient) -> None:
        info = client.select_folder(self.settings.mailbox, readonly=True)
        uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        uidnext = int(info.get(b"UIDNEXT", 0) or 0)
        exists = int(info.get(b"EXISTS", 0) or 0)
        if self.uidvalidity is not None and uidvalidity != self.uidvalidity:
            log.warning("UIDVALIDITY of %s changed (%s -> %s): rescanning since %s",
                        self.settings.mailbox, self.uidvalidity, uidvalidity, self.settings.since)
            self.last_uid = None
        self.uidvalidity = uidvalidity
        idle = self.settings.use_idle and b"IDLE" in client.capabilities()
        self._catch_up(client, uidnext, exists)
        while True:
            self.report("live", f"IDLE on {self.settings.mailbox}" if idle else
                        f"polling {self.settings.mailbox} every {self.settings.poll_interval:g}s"
                        " (the server has no IDLE)", backlog=None)
            if idle:
                self._idle(client)
            else:
                self.stop_event.wait(self.settings.poll_interval)
                self._check_stop()
                client.noop()
            self._catch_up(client, 0)

    def _idle(self, client: IMAPClient) -> None:
        """One IDLE slice; returns on new mail, at the slice's end, or early on a dead link."""
        deadline = time.monotonic() + self.settings.idle_slice
        client.idle()
        try:
            while time.monotonic() < deadline:
                self._check_stop()
                step = min(1.0, max(deadline - time.monotonic(), 0.01))
                began = time.monotonic()
                responses = client.idle_check(timeout=step)
                if any(len(r) > 0 and r[0] == b"BYE" for r in responses):
                    raise ConnectionError("the IMAP server said BYE")
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return
                if not responses and time.monotonic() - began < step / 2:
                    return  # readable yet nothing to read: EOF; DONE below raises if so
        finally:
            if not self.stop_event.is_set():
                client.idle_done()
        client.noop()

    def _catch_up(self, client: IMAPClient, uidnext: int, exists: int | None = None) -> None:
        rescan = self.last_uid is None
        floor = self.last_uid or 0
        total: int
        size = max(1, self.settings.batch_size)
        dense = exists is not None and 0 < uidnext - 1 - floor <= exists + size
        if dense and not (rescan and self.settings.since):
            # right after SELECT: the candidates are floor+1 .. UIDNEXT-1, no SEARCH needed
            # (only when that range is not much larger than the mailbox: after mass
            # deletions UIDs are sparse, and asking for each would waste round trips)
            candidates = range(floor + 1, uidnext)
            total = min(len(candidates), exists or 0)
            high = max(uidnext - 1, floor)
        else:
            if rescan:
                since = self.settings.since
                # sent since, or (no Date header: judged by arrival) arrived since; the
                # mail_since rule then decides each mail, so servers that differ on mail
                # without a Date header (pymap leaves it out of SENTSINCE) still agree
                uids = client.search(["OR", "SENTSINCE", since, "SINCE", since] if since
                                     else ["ALL"])
            else:
                uids = client.search(["UID", f"{self.last_uid + 1}:*"])
            candidates = sorted(uid for uid in uids if uid > floor)  # the n:* gotcha
            total = len(candidates)
            # a rescan leaves everything older alone from now on, even when nothing was found
            high = max([uidnext - 1, *candidates, 0]) if rescan else max([floor, *candidates])
        done = 0
        try:
            for start in range(0, len(candidates), size):
                self._check_stop()
                page = list(candidates[start:start + size])
                self.report("starting", f"catching up: {done} of {total} mails",
                            backlog={"done": done, "total": total})
                incomings, found = self._fetch_page(client, page)
                done = min(done + found, total)
                self._commit(incomings, page[-1], {"done": done, "total": total})
            if rescan or high != floor:
                self._commit([], high, {"done": done, "total": total})
        finally:
            self._settle()

    def _commit(self, incomings: list[Incoming], last_uid: int, progress: dict[str, int]) -> None:
        """Hand a page to the queue without waiting, after the previous page is committed."""
        self._settle()
        checkpoint = {"uidvalidity": int(self.uidvalidity or 0), "last_uid": int(last_uid)}
        self._in_flight = (self.deliver(incomings, checkpoint, progress), last_uid)

    def _settle(self) -> None:
        """Wait for the page in flight; only then does its checkpoint count as ours."""
        if self._in_flight is not None:
            wait, last_uid = self._in_flight
            self._in_flight = None
            wait()
            self.last_uid = last_uid

    def _fetch_page(self, client: IMAPClient, page: Sequence[int]) -> tuple[list[Incoming], int]:
        """The page's questions, and how many of its UIDs the server had."""
        # One round trip: a partial fetch returns small mails whole and cuts huge ones.
        fetched = client.fetch(page, [f"BODY.PEEK[]<0.{MAX_FETCH_BYTES}>", "INTERNALDATE"])
        incomings = []
        for uid in page:  # a UID missing here was expunged in between: nothing to take
            raw = fetched.get(uid, {}).get(b"BODY[]<0>")
            if not raw:
                continue
            if sent_before(raw, self.settings.since, fetched[uid].get(b"INTERNALDATE")):
                log.info("mail UID %s skipped: sent before [email] since", uid)
                continue
            meta: dict[str, Any] = {"imap_uid": uid}
            if len(raw) >= MAX_FETCH_BYTES:
                meta["truncated"] = True
            decision = evaluate(raw, self.rules, meta)
            if decision.incoming is None:
                log.info("mail UID %s %s", uid, decision.reason)
            else:
                incomings.append(decision.incoming)
        return incomings, len(fetched)


class ImapCollector:
    """`[email]` with a host: the asyncio side of ImapWorker."""

    name = NAME

    def __init__(self, settings: ImapSettings, rules: SubjectRules, health: HealthRegistry,
                 secret: Callable[[str], str | None]) -> None:
        self.settings, self.rules, self.health, self.secret = settings, rules, health, secret

    async def run(self, sink: Sink) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        if not settings.oauth2_token_command:  # a missing variable stops us before connecting
            resolve_login(settings, self.secret)
        finished = loop.create_future()

        def deliver(incomings: list[Incoming], checkpoint: dict[str, int],
                    progress: dict[str, Any]) -> Callable[[], None]:
            future = asyncio.run_coroutine_threadsafe(
                self._commit(sink, incomings, checkpoint, progress), loop)

            def wait() -> None:  # for the commit, but give up promptly when asked to stop
                while True:
                    try:
                        future.result(timeout=0.5)
                        return
                    except concurrent.futures.TimeoutError:
                        if worker.stop_event.is_set():
                            future.cancel()
                            raise Stopping() from None

            return wait

        def report(state: str, reason: str, **detail: Any) -> None:
            loop.call_soon_threadsafe(
                functools.partial(self.health.set, self.name, state, reason, **detail))

        worker = ImapWorker(settings, self.rules, sink.checkpoint(settings.checkpoint_name),
                            lambda: resolve_login(settings, self.secret), deliver, report)
        worker.on_exit = lambda: loop.call_soon_threadsafe(
            lambda: finished.done() or finished.set_result(None))
        self.health.set(self.name, "starting", f"connecting to {settings.host}:{settings.port}")
        worker.start()
        try:
            await finished
        finally:
            worker.stop()
            await asyncio.to_thread(worker.thread.join, 10)
        if worker.error is not None:
            raise explain(worker.error, settings)

    async def _commit(self, sink: Sink, incomings: list[Incoming], checkpoint: dict[str, int],
                      progress: dict[str, Any]) -> None:
        await submit_counted(sink, self.health, self.name, incomings,
                             Checkpoint(self.settings.checkpoint_name, checkpoint))
        self.health.update_detail(self.name, backlog=progress)


def explain(error: BaseException, settings: ImapSettings) -> BaseException:
    """Turn failures a retry cannot fix into CollectorStopped with the fix; keep the rest."""
    if isinstance(error, LoginError):
        how = ("the token (oauth2_token_env / oauth2_token_command)"
               if settings.oauth2_token_env or settings.oauth2_token_command
               else f"the password in ${settings.password_env}")
        return CollectorStopped(
            f"{settings.host} refused the login of {settings.username}: check {how}. Gmail and "
            "Microsoft 365 need an app password or OAuth (see README, Email)")
    if isinstance(error, ssl.SSLCertVerificationError):
        return CollectorStopped(
            f"the certificate of {settings.host} is not trusted ({error.verify_message}): "
            "set [email] ca_file to the server's CA certificate")
    return error
