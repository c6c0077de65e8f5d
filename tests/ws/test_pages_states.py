"""/host and /overlay in headless Chromium: the layout at the sizes they are shown at (a
1280x720 laptop, a 1920x1080 OBS source), the connection states, and who asked.

Sizes are read from the real layout (bounding boxes, scrollHeight), never from a screenshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import expect

from aggregator.commands import Command
from aggregator.server import pages
from tests.conftest import incoming
from tests.ws.conftest import Server
from tests.support.browser import chromium, needs_chromium
from tests.ws.test_pages_browser import open_page

LAPTOP = {"width": 1280, "height": 720}
SENTENCE = "How will the foundation make sure that small affiliates get a fair share of funding "
# About 1,500 characters: an emailed question read out as it was sent.
LONG = (SENTENCE * 18).strip() + " in the next annual plan?"
# The longest a question can be (aggregator/sanitize.py MAX_TEXT).
HUGE = ("word " * 999).strip() + " END?"

pytestmark = needs_chromium


async def live(server: Server, text: str, author: str = "Sofia Rossi") -> int:
    await server.queue.submit_batch([incoming(1, text, author=author)])
    await server.queue.apply(Command(op="approve", question=1), "mod")
    await server.queue.apply(Command(op="go_live", question=1), "mod")
    return 1


async def on_screen(page, selector: str, viewport: dict[str, int]) -> dict[str, float]:  # noqa: ANN001
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["y"] >= 0 and box["x"] >= 0
    assert box["y"] + box["height"] <= viewport["height"], f"{selector} is below the screen"
    assert box["x"] + box["width"] <= viewport["width"]
    return box


def overflow(page, selector: str):  # noqa: ANN001, ANN201
    return page.eval_on_selector(selector, "e => e.scrollHeight - e.clientHeight")


def font_px(page, selector: str):  # noqa: ANN001, ANN201
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


@pytest.mark.parametrize("text", [LONG, HUGE], ids=["1500 characters", "5000 characters"])
async def test_a_long_question_never_pushes_next_off_a_laptop_screen(
        server: Server, tokens, browser, text: str) -> None:  # noqa: F811
    await live(server, text)
    await server.queue.submit_batch([incoming(n, f"Queued question {n}?") for n in range(2, 12)])
    for n in range(2, 12):
        await server.queue.apply(Command(op="approve", question=n), "mod")
    page = await browser.new_page(viewport=LAPTOP)
    await page.goto(f"{server.http}/host#token={tokens['host']}")
    await expect(page.locator("#live-text")).to_have_text(text)
    await on_screen(page, "#next", LAPTOP)
    await expect(page.locator("#next")).to_be_in_viewport(ratio=1)
    assert await page.evaluate("document.documentElement.scrollHeight") <= LAPTOP["height"]
    size = await font_px(page, "#live-text")
    assert 18 <= size < 56  # scaled down from the largest size, not below the smallest
    if text == LONG:  # it fits whole: nothing to scroll to
        assert await overflow(page, "#live") <= 1
    await page.locator("#next").click()
    await expect(page.locator("#live-text")).to_have_text("Queued question 2?")
    assert await font_px(page, "#live-text") == 56  # a short question at full size again


async def test_the_overlay_scales_a_long_question_instead_of_cutting_it(
        server: Server, tokens, browser) -> None:  # noqa: F811
    text = (SENTENCE * 6).strip() + "?"  # ~500 characters: 4 lines at 46 px would cut it
    await live(server, text)
    page, problems = await open_page(browser, f"{server.http}/overlay#token={tokens['overlay']}")
    await expect(page.locator("#card.visible #text")).to_have_text(text)
    viewport = {"width": 1920, "height": 1080}
    await on_screen(page, "#card", viewport)
    await on_screen(page, "#who", viewport)
    assert await overflow(page, "#card") <= 1  # all of it inside the card
    assert 22 <= await font_px(page, "#text") < 46
    assert problems == []


async def test_the_overlay_shortens_a_whole_email_at_a_word(
        server: Server, tokens, browser) -> None:  # noqa: F811
    await live(server, HUGE)
    page, _ = await open_page(browser, f"{server.http}/overlay#token={tokens['overlay']}")
    await expect(page.locator("#card.visible")).to_have_count(1)
    shown = await page.text_content("#text") or ""
    assert shown.endswith("…") and len(shown) <= 601
    assert shown[:-1].split()[-1] == "word"  # cut between words
    assert await overflow(page, "#card") <= 1
    await on_screen(page, "#card", {"width": 1920, "height": 1080})


@pytest.mark.parametrize("path", ["host", "overlay"])
async def test_a_wrong_token_is_a_full_refusal_not_an_empty_queue(
        server: Server, tokens, browser, path: str) -> None:  # noqa: F811
    await live(server, "A question nobody may read here?")
    page, _ = await open_page(browser, f"{server.http}/{path}#token=wrong")
    await expect(page.locator("#gate")).to_be_visible()
    await expect(page.locator("#gate .gate-title")).to_have_text(
        "refused: wrong or missing token")
    assert await page.evaluate("document.body.dataset.state") == "refused"
    await expect(page.locator("text=Nothing is live.")).to_be_hidden()
    assert "A question nobody may read here?" not in await page.content()
    if path == "host":
        await expect(page.locator("#next")).to_be_hidden()
        gate = await page.locator("#gate").bounding_box()
        assert gate is not None and gate["width"] >= 1900 and gate["height"] >= 1000


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """The real pages, and a websocket that accepts and then never answers the hello: a
    server that is slow to send its snapshot (a large store, a slow link)."""
    app = web.Application()
    pages.install(app)
    held: list[web.WebSocketResponse] = []

    async def ws(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        held.append(socket)
        async for _ in socket:  # read the hello, say nothing
            pass
        return socket

    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for socket in held:
            await socket.close()
        await runner.cleanup()


@pytest.mark.parametrize("path", ["host", "overlay"])
async def test_before_the_first_snapshot_the_pages_say_connecting(
        silent_server: str, browser, path: str) -> None:  # noqa: F811
    page, _ = await open_page(browser, f"{silent_server}/{path}#token=t")
    await expect(page.locator("#gate .gate-title")).to_have_text("connecting…")
    await asyncio.sleep(0.5)  # the hello has been answered by silence, still connecting
    await expect(page.locator("#gate")).to_be_visible()
    await expect(page.locator("text=Nothing is live.")).to_be_hidden()
    if path == "host":
        await expect(page.locator("#queue")).to_be_hidden()


async def test_connecting_gives_way_to_the_view(server: Server, tokens, browser) -> None:  # noqa: F811
    page, _ = await open_page(browser, f"{server.http}/host#token={tokens['host']}")
    await expect(page.locator("#live-empty")).to_have_text("Nothing is live.")
    await expect(page.locator("#gate")).to_be_hidden()
    assert await page.evaluate("document.body.dataset.state") == "ready"


async def test_the_host_sees_how_many_asked_and_with_askers_every_name(
        server: Server, tokens, browser) -> None:  # noqa: F811
    await server.queue.submit_batch([
        incoming(1, "Will the grants open again?", author="Sofia Rossi"),
        incoming(2, "Are grants coming back?", author="Jan", source="zoom"),
        incoming(3, "grants next year??", author="bob@example.org", author_id="bob@example.org",
                 email="bob@example.org", source="email"),
    ])
    await server.queue.apply(Command(op="approve", question=1), "mod")
    for qid in (2, 3):
        await server.queue.apply(Command(op="merge", question=qid, args={"into": 1}), "mod")
    await server.queue.apply(Command(op="go_live", question=1), "mod")

    page, problems = await open_page(browser, f"{server.http}/host#token={tokens['host']}")
    await expect(page.locator("#live-meta")).to_have_text(
        "#1 · youtube · Sofia Rossi · asked by 3")
    await expect(page.locator("#live-askers")).to_be_hidden()  # the names only on request

    page, problems = await open_page(browser,
                                     f"{server.http}/host#token={tokens['host']}&askers=1")
    await expect(page.locator("#live-askers")).to_have_text("Asked by: Sofia Rossi, Jan, bob")
    assert "also" not in (await page.text_content("#live-askers") or "").lower()
    assert "example.org" not in await page.content()
    assert problems == []


async def test_pages_work_under_a_proxied_host_name_once_every_role_has_a_token(
        server: Server, tokens) -> None:
    """What a TLS proxy or tunnel on the server's machine forwards: the public host name in
    Host and Origin, to a server that listens on loopback. Chromium resolves the name to
    127.0.0.1 itself, so the server sees exactly those headers."""
    await live(server, "Through the proxy?")
    rules = "--host-resolver-rules=MAP townhall.example.org 127.0.0.1"
    async with chromium(rules) as named:
        page = await named.new_page()
        await page.goto(f"http://townhall.example.org:{server.port}/host"
                        f"#token={tokens['host']}")
        await expect(page.locator("#live-text")).to_have_text("Through the proxy?")
