"""`townhall zoom-import-qa`: a finished webinar's (or meeting's) Q&A report into the queue.

Zoom has no live event for its Q&A panel; the report `GET /report/webinars/{id}/qa` (or
`/report/meetings/{id}/qa`) is available after the call. The report needs Zoom's reports
feature (a paid plan, the report scopes); where it is unavailable (HTTP 400, 403 or 404) the
shorter `GET /past_webinars/{id}/qa` (or `/past_meetings/{id}/qa`) is read instead: the same
questions and answers without question ids, times or who answered.
Each question becomes source `zoom_qa`, keyed by its `question_id`, so running the import again
stores nothing twice. A question Zoom has an answer for arrives `answered`, with the answer in
`note` ("live answered" becomes "answered live"); the others arrive `new`.

Decisions: a question without `question_id` (older report shapes) is keyed by a hash of asker,
text and time; the whole report is written in one transaction with a checkpoint recording when
it was imported. The import needs the store to itself, like `run` and `serve`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from .collectors.zoom_oauth import (
    MissingCredentials,
    TokenError,
    ZoomOAuth,
    oauth_from_config,
    redact,
)
from .config import Config, ConfigError
from .model import Author, Incoming, Source, Status, parse_iso, to_iso
from .queue import Checkpoint, QuestionQueue
from .sanitize import clean_line, clean_text
from .store import Store
from .triage import Rules

MAX_PAGES = 100
MAX_REPORT = 32 * 1024 * 1024
LIVE_ANSWERED = "live answered"


#: answers of the report endpoint after which the past_*/qa list is worth asking
REPORT_UNAVAILABLE = frozenset({400, 403, 404})


class QaImportError(Exception):
    """The import cannot go on; the message says why and what to do."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status Zoom answered, when it answered


@dataclass
class ImportSummary:
    in_report: int = 0
    answered: int = 0
    created: int = 0
    skipped: int = 0  # entries without usable question text
    origin: str = "the Q&A report"

    def text(self, kind: str, ident: str) -> str:
        already = self.in_report - self.created
        line = (f"{kind} {ident}: {self.in_report} questions in {self.origin} "
                f"({self.answered} answered); imported {self.created} new, {already} already "
                "present")
        return line + (f"; skipped {self.skipped} without text" if self.skipped else "")


def report_path(kind: str, ident: str, *, past: bool = False) -> str:
    """`/report/{kind}s/{id}/qa` (or `/past_{kind}s/{id}/qa`), with Zoom's rule for instance
    UUIDs: one that starts with `/` or contains `//` is URL-encoded twice."""
    encoded = quote(ident, safe="")
    if ident.startswith("/") or "//" in ident:
        encoded = quote(encoded, safe="")
    return f"/past_{kind}s/{encoded}/qa" if past else f"/report/{kind}s/{encoded}/qa"


async def fetch_report(oauth: ZoomOAuth, api_base_url: str, kind: str, ident: str, *,
                       past: bool = False) -> dict[str, Any]:
    """The whole report; pages (if Zoom ever paginates it) are joined into one."""
    token = await oauth.fetch()
    url = api_base_url.rstrip("/") + report_path(kind, ident, past=past)
    headers = {"Authorization": f"Bearer {token.value}", "Accept": "application/json"}
    report: dict[str, Any] = {}
    questions: list[Any] = []
    params: dict[str, str] = {"page_size": "300"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                     trust_env=True) as session:
        for _ in range(MAX_PAGES):
            try:
                async with session.get(url, headers=headers, params=params) as resp:
                    raw = await resp.content.read(MAX_REPORT)
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise QaImportError(f"cannot reach {api_base_url} ({type(exc).__name__}: "
                                    f"{redact(clean_line(exc, 150))}); check [zoom] "
                                    "api_base_url and the network") from None
            page = _decode(raw)
            if status != 200:
                raise QaImportError(_http_problem(status, page, kind, ident), status)
            if not isinstance(page, dict):
                raise QaImportError("Zoom answered with something that is not a Q&A report")
            report = {**page, **report}
            items = page.get("questions")
            if items is not None and not isinstance(items, list):
                raise QaImportError("the report's `questions` is not a list")
            questions.extend(items or [])
            next_token = page.get("next_page_token")
            if not isinstance(next_token, str) or not next_token:
                break
            params["next_page_token"] = next_token
    report["questions"] = questions
    return report


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _http_problem(status: int, page: Any, kind: str, ident: str) -> str:
    message = clean_line(page.get("message"), 200) if isinstance(page, dict) else ""
    said = f" ({message})" if message else ""
    if status == 404:
        return (f"Zoom has no Q&A report for {kind} {ident}{said}. Check the id, that the {kind} "
                "has ended, and that Q&A was enabled in it.")
    if status in (401, 403):
        return (f"Zoom refused the report request: HTTP {status}{said}. The app needs the "
                "report:read:admin scope (or the granular report scopes) and a plan with reports.")
    if status == 429:
        return f"Zoom's rate limit was hit (HTTP 429){said}; try again in a minute."
    return f"Zoom answered HTTP {status}{said}."


# --- report -> Incoming -----------------------------------------------------------------------


def _text(value: Any, limit: int = 200) -> str:
    return clean_line(value, limit) if isinstance(value, str) else ""


def _answer_note(detail: dict[str, Any]) -> str | None:
    """The answer Zoom has for a question, as one note; None when unanswered."""
    parts: list[str] = []
    answers = detail.get("answer_details")
    for answer in answers if isinstance(answers, list) else []:
        if not isinstance(answer, dict):
            continue
        content = answer.get("content")
        if not isinstance(content, str) or not content.strip():
            continue
        content = "answered live" if content.strip().lower() == LIVE_ANSWERED else content
        who = _text(answer.get("name"))
        parts.append(f"{who}: {content}" if who else content)
    if not parts:
        answer = detail.get("answer")
        if isinstance(answer, str) and answer.strip():
            parts.append("answered live" if answer.strip().lower() == LIVE_ANSWERED else answer)
    note = clean_text("\n".join(parts))
    return note or None


def _sent_at(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            return to_iso(parse_iso(value))
        except ValueError:
            return None
    return None


def report_incomings(report: dict[str, Any], kind: str, ident: str
                     ) -> tuple[list[Incoming], int]:
    """Every usable question of `report` as an Incoming, and how many entries were skipped."""
    incomings: list[Incoming] = []
    skipped = 0
    askers = report.get("questions")
    for asker in askers if isinstance(askers, list) else []:
        if not isinstance(asker, dict):
            skipped += 1
            continue
        name = _text(asker.get("name")) or "(anonymous)"
        email = _text(asker.get("email"), 320) or None
        author_id = (email.lower() if email else _text(asker.get("user_id"))) or name.casefold()
        details = asker.get("question_details")
        for detail in details if isinstance(details, list) else []:
            question = detail.get("question") if isinstance(detail, dict) else None
            if not isinstance(question, str) or not clean_text(question):
                skipped += 1
                continue
            assert isinstance(detail, dict)
            note = _answer_note(detail)
            key = _text(detail.get("question_id"), 256)
            if not key:
                digest = hashlib.sha256(json.dumps(
                    [author_id, question, detail.get("create_time")]).encode()).hexdigest()
                key = f"sha256:{digest[:32]}"
            meta: dict[str, Any] = {"kind": kind, f"{kind}_id": clean_line(ident, 256)}
            if _text(report.get("uuid"), 256):
                meta[f"{kind}_uuid"] = _text(report.get("uuid"), 256)
            if _text(detail.get("question_status"), 40):
                meta["question_status"] = _text(detail.get("question_status"), 40)
            incomings.append(Incoming(
                source=Source.ZOOM_QA, external_id=key,
                author=Author(name=name, id=author_id, email=email),
                text=question, sent_at=_sent_at(detail.get("create_time")),
                status=Status.ANSWERED if note else Status.NEW, note=note, meta=meta))
    return incomings, skipped


# --- the command ------------------------------------------------------------------------------


async def import_qa(config: Config, kind: str, ident: str,
                    progress: Callable[[str], None] = lambda _m: None) -> ImportSummary:
    ident = ident.strip()
    if not ident or len(ident) > 256:
        raise QaImportError(f"--{kind} needs the {kind} id (the number in its Zoom URL) or an "
                            "instance UUID")
    try:
        oauth = oauth_from_config(config)
    except MissingCredentials as exc:
        raise ConfigError(config.source, "[zoom]", str(exc)) from None
    progress(f"fetching the Q&A report of {kind} {ident} from {config.zoom.api_base_url} ...")
    origin = "the Q&A report"
    try:
        try:
            report = await fetch_report(oauth, config.zoom.api_base_url, kind, ident)
        except QaImportError as unavailable:
            if unavailable.status not in REPORT_UNAVAILABLE:
                raise
            progress(f"the report is unavailable (HTTP {unavailable.status}); fetching "
                     f"{report_path(kind, ident, past=True)} instead ...")
            try:
                report = await fetch_report(oauth, config.zoom.api_base_url, kind, ident,
                                            past=True)
            except QaImportError as failed:
                raise QaImportError(f"{unavailable} The past {kind}'s Q&A list was not "
                                    f"available either: {failed}", failed.status) from None
            origin = f"the past {kind}'s Q&A list"
    except TokenError as exc:
        raise QaImportError(str(exc)) from None
    incomings, skipped = report_incomings(report, kind, ident)
    summary = ImportSummary(in_report=len(incomings), skipped=skipped, origin=origin,
                            answered=sum(1 for i in incomings if i.status is Status.ANSWERED))
    progress(f"storing {len(incomings)} questions in {config.store_path} ...")
    store = Store(config.store_path).open()
    try:
        queue = QuestionQueue(store, triage=Rules(config.triage.topics),
                              config_bans=config.triage.banned)
        await queue.start()
        results = await queue.submit_batch(
            incomings, Checkpoint(f"zoom_qa:{kind}:{ident}", {"questions": len(incomings)}))
        summary.created = sum(1 for r in results if r.created)
    finally:
        store.close()
    return summary


def run_import(config: Config, kind: str, ident: str) -> str:
    """Blocking entry point for the CLI; progress goes to stderr, the summary is returned."""
    import asyncio

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    return asyncio.run(import_qa(config, kind, ident, progress)).text(kind, ident)
