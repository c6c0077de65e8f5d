"""`townhall zoom-import-qa` as a real subprocess against a local server answering the Q&A report
(tests.support.zoom_cloud, shaped as Zoom documents it: docs/platforms.md, Zoom, Q&A)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.zoom_cloud import FakeZoomCloud
from aggregator.store import Store
from aggregator.zoom_qa import report_incomings, report_path
from tests.conftest import townhall

ENV = {"TH_QA_CLIENT_ID": "client-id", "TH_QA_CLIENT_SECRET": "client-secret"}

REPORT = {
    "id": 245603123123, "uuid": "4444AAAiAAAAAiAiAiiAii==", "start_time": "2022-03-15T07:40:46Z",
    "questions": [
        {"user_id": "hyROrs0TRCSvwmadI7L13w", "email": "jchilll@example.com", "name": "Jill Chill",
         "question_details": [
             {"question_id": "zxU4wOwnlxs", "question": "how are you", "answer": "fine",
              "create_time": "2022-03-15T07:48:00Z", "question_status": "open",
              "answer_details": [{"user_id": "Cn_5", "name": "Paul", "email": "paul@example.com",
                                  "content": "fine", "create_time": "2022-03-15T07:50:00Z",
                                  "type": "default"}]},
             {"question_id": "q-live", "question": "Will the slides be shared? 📊",
              "answer": "live answered", "create_time": "2022-03-15T07:52:00Z"},
         ]},
        {"name": "Ünïcode \x1b[31mGuest", "question_details": [
            {"question_id": "q-open", "question": "¿Y la grabación?\u202e",
             "create_time": "2022-03-15T07:55:00Z", "question_status": "open"},
            {"question_id": "q-empty", "question": "   "},
        ]},
    ],
}


def _config(tmp_path: Path, cloud: FakeZoomCloud, account_id: str | None = None) -> Path:
    path = tmp_path / "townhall.toml"
    path.write_text(
        f'[store]\npath = "{tmp_path / "t.db"}"\n'
        f'[zoom]\nclient_id_env = "TH_QA_CLIENT_ID"\nclient_secret_env = "TH_QA_CLIENT_SECRET"\n'
        f'account_id = "{account_id or cloud.account_id}"\n'
        f'token_url = "{cloud.token_url}"\napi_base_url = "{cloud.api_base_url}"\n')
    return path


@pytest.fixture
async def cloud() -> AsyncIterator[FakeZoomCloud]:
    async with FakeZoomCloud() as server:
        server.reports[("webinar", "245603123123")] = REPORT
        server.reports[("meeting", "85746065432")] = {"id": 85746065432, "questions": [
            {"name": "Ada", "question_details": [{"question_id": "m-1", "question": "Meeting Q?"}]}
        ]}
        yield server


async def run(*args: str, env: dict[str, str] | None = None):
    return await asyncio.to_thread(townhall, *args, env={**ENV, **(env or {})})


def stored(tmp_path: Path):
    with Store(tmp_path / "t.db", exclusive=False) as store:
        return {q.external_id: q for q in store.load_questions()}


async def test_import_twice_stores_each_question_once(tmp_path: Path,
                                                      cloud: FakeZoomCloud) -> None:
    config = _config(tmp_path, cloud)
    first = await run("zoom-import-qa", "--config", str(config), "--webinar", "245603123123")
    assert first.returncode == 0, first.stderr
    assert "3 questions in the Q&A report (2 answered); imported 3 new, 0 already present" \
        in first.stdout
    assert "skipped 1 without text" in first.stdout
    assert "fetching the Q&A report" in first.stderr

    questions = stored(tmp_path)
    assert set(questions) == {"zxU4wOwnlxs", "q-live", "q-open"}
    answered = questions["zxU4wOwnlxs"]
    assert answered.source == "zoom_qa" and answered.status == "answered"
    assert answered.note == "Paul: fine"
    assert answered.author.email == "jchilll@example.com"
    assert answered.sent_at == "2022-03-15T07:48:00.000Z"
    assert answered.meta["webinar_id"] == "245603123123"
    assert questions["q-live"].status == "answered" and questions["q-live"].note == "answered live"
    open_one = questions["q-open"]
    assert open_one.status == "new" and open_one.note is None
    assert open_one.text == "¿Y la grabación?" and "\x1b" not in open_one.author.name

    second = await run("zoom-import-qa", "--config", str(config), "--webinar", "245603123123")
    assert second.returncode == 0, second.stderr
    assert "imported 0 new, 3 already present" in second.stdout
    assert len(stored(tmp_path)) == 3


async def test_meeting_report(tmp_path: Path, cloud: FakeZoomCloud) -> None:
    result = await run("zoom-import-qa", "--config", str(_config(tmp_path, cloud)),
                       "--meeting", "85746065432")
    assert result.returncode == 0, result.stderr
    assert stored(tmp_path)["m-1"].meta["meeting_id"] == "85746065432"


async def test_unknown_webinar_says_what_to_check(tmp_path: Path, cloud: FakeZoomCloud) -> None:
    result = await run("zoom-import-qa", "--config", str(_config(tmp_path, cloud)),
                       "--webinar", "999")
    assert result.returncode == 1
    assert "no Q&A report for webinar 999" in result.stderr
    assert "Webinar does not exist" in result.stderr


async def test_missing_credentials_name_the_variable(tmp_path: Path,
                                                     cloud: FakeZoomCloud) -> None:
    result = await run("zoom-import-qa", "--config", str(_config(tmp_path, cloud)),
                       "--webinar", "245603123123", env={"TH_QA_CLIENT_SECRET": ""})
    assert result.returncode == 2
    assert "TH_QA_CLIENT_SECRET" in result.stderr and "client_secret_env" in result.stderr
    assert cloud.token_requests == 0


async def test_refused_credentials_are_reported_without_secrets(tmp_path: Path,
                                                                cloud: FakeZoomCloud) -> None:
    result = await run("zoom-import-qa", "--config", str(_config(tmp_path, cloud, "wrong")),
                       "--webinar", "245603123123")
    assert result.returncode == 1
    assert "HTTP 400" in result.stderr and "Invalid account_id" in result.stderr
    assert "client-secret" not in result.stderr
    assert not (tmp_path / "t.db").exists()


async def test_unreachable_api_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "townhall.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "t.db"}"\n[zoom]\n'
                      'client_id_env = "TH_QA_CLIENT_ID"\nclient_secret_env = "TH_QA_CLIENT_SECRET"\n'
                      'account_id = "a"\ntoken_url = "http://127.0.0.1:9/oauth/token"\n')
    result = await run("zoom-import-qa", "--config", str(config), "--webinar", "1")
    assert result.returncode == 1
    assert "cannot reach the Zoom token URL" in result.stderr


def test_malformed_reports_never_crash() -> None:
    for report in ({}, {"questions": "x"}, {"questions": [1, None, {"question_details": "x"}]},
                   {"questions": [{"question_details": [None, {"question": 5}, {}]}]}):
        incomings, _ = report_incomings(report, "webinar", "1")
        assert incomings == []
    incomings, _ = report_incomings(
        {"questions": [{"name": "A", "question_details": [{"question": "no id?"}]}]},
        "webinar", "1")
    assert incomings[0].external_id.startswith("sha256:")


def test_uuid_paths_are_double_encoded_when_zoom_requires_it() -> None:
    assert report_path("webinar", "123") == "/report/webinars/123/qa"
    assert report_path("webinar", "4444AAAiAAAAAiAiAiiAii==") == \
        "/report/webinars/4444AAAiAAAAAiAiAiiAii%3D%3D/qa"
    assert report_path("meeting", "/ajXp112QmuoKj4854875==") == \
        "/report/meetings/%252FajXp112QmuoKj4854875%253D%253D/qa"


async def test_meeting_without_the_report_reads_the_past_meeting_list(
        tmp_path: Path, cloud: FakeZoomCloud) -> None:
    cloud.report_status = 403  # a plan without the reports feature
    cloud.past_qa[("meeting", "85746065432")] = {"id": 85746065432, "questions": [
        {"name": "Ada", "email": "ada@example.org", "question_details": [
            {"question": "Past list Q?", "answer": "live answered"},
            {"question": "Unanswered?", "answer": ""}]}]}
    config = _config(tmp_path, cloud)
    first = await run("zoom-import-qa", "--config", str(config), "--meeting", "85746065432")
    assert first.returncode == 0, first.stderr
    assert cloud.report_requests == ["/v2/report/meetings/85746065432/qa",
                                     "/v2/past_meetings/85746065432/qa"]
    assert "HTTP 403" in first.stderr and "/past_meetings/85746065432/qa" in first.stderr
    assert ("2 questions in the past meeting's Q&A list (1 answered); imported 2 new"
            in first.stdout)
    by_text = {q.text: q for q in stored(tmp_path).values()}
    assert by_text["Past list Q?"].status == "answered"
    assert by_text["Past list Q?"].note == "answered live"
    assert by_text["Unanswered?"].status == "new"
    # no question ids in this list: the keys are stable hashes, so a second run adds nothing
    second = await run("zoom-import-qa", "--config", str(config), "--meeting", "85746065432")
    assert "imported 0 new, 2 already present" in second.stdout
    assert len(stored(tmp_path)) == 2


async def test_neither_list_available_says_both(tmp_path: Path, cloud: FakeZoomCloud) -> None:
    result = await run("zoom-import-qa", "--config", str(_config(tmp_path, cloud)),
                       "--meeting", "111")
    assert result.returncode == 1
    assert "no Q&A report for meeting 111" in result.stderr
    assert "past meeting's Q&A list was not available either" in result.stderr


async def test_a_refused_token_does_not_fall_back(tmp_path: Path, cloud: FakeZoomCloud) -> None:
    cloud.report_status = 401
    result = await run("zoom-import-qa", "--config", str(_config(tmp_path, cloud)),
                       "--meeting", "85746065432")
    assert result.returncode == 1 and "HTTP 401" in result.stderr
    assert cloud.report_requests == ["/v2/report/meetings/85746065432/qa"]
