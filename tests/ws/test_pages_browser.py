"""/host and /overlay in headless Chromium (Debian `chromium`, driven by Playwright's API).

The browser comes from tests/support/browser.py (the system Chromium, never `playwright
install`).
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from aggregator.commands import Command
from aggregator.server.ws import SESSIONS
from tests.conftest import incoming
from tests.support.browser import needs_chromium
from tests.ws.conftest import Server

SCRIPT = "<script>window.__pwned = 1</script>Is this <b>bold</b>?"
IMG = '<img src=x onerror="window.__pwned = 2">What about images?'

pytestmark = needs_chromium


async def open_page(browser, url: str):  # noqa: ANN001, ANN201
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(url)
    return page, problems


async def seed(server: Server) -> None:
    await server.queue.submit_batch([
        incoming(1, SCRIPT, author="<i>Mallory</i>", source="email",
                 author_id="mallory@example.org", email="mallory@example.org"),
        incoming(2, IMG, author="Eve"),
        incoming(3, "A plain question?", author="Ana"),
    ])
    for qid in (1, 2, 3):
        await server.queue.apply(Command(op="approve", question=qid), "mod")


async def test_host_page_live_within_a_second_hostile_text_literal(
        server: Server, tokens, browser) -> None:
    await seed(server)
    page, problems = await open_page(browser, f"{server.http}/host#token={tokens['host']}")
    await expect(page.locator("#queue li")).to_have_count(3, timeout=5000)
    assert await page.evaluate("window.location.hash") == ""  # token out of the address bar
    assert await page.inner_text("#live-empty") == "Nothing is live."
    await server.queue.apply(Command(op="go_live", question=1), "mod")
    await expect(page.locator("#live-text")).to_have_text(SCRIPT, timeout=1000)
    assert "<i>Mallory</i>" in (await page.text_content("#live-meta") or "")
    first_next = await page.text_content("#queue li span")
    assert first_next == IMG
    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("img, b, i, script:not([src])").count() == 0
    assert "mallory@example.org" not in await page.content()
    # the host says next from the page (the button; the n key does the same)
    await page.keyboard.press("n")
    await expect(page.locator("#live-text")).to_have_text(IMG, timeout=5000)
    assert server.queue.get(1).status == "answered"
    assert server.queue.history(1)[-1].actor == "host:host page"
    assert await page.evaluate("window.__pwned") is None
    assert problems == []


async def test_host_page_reconnects_by_itself(server: Server, tokens, browser) -> None:
    await seed(server)
    page, problems = await open_page(browser, f"{server.http}/host#token={tokens['host']}")
    await expect(page.locator("#queue li")).to_have_count(3)
    for ws in list(server.runtime.app[SESSIONS]):
        await ws.close()
    await expect(page.locator("#status")).to_contain_text("reconnecting")
    await server.queue.apply(Command(op="go_live", question=3), "mod")
    await expect(page.locator("#live-text")).to_have_text("A plain question?",
                                                         timeout=10000)
    await page.reload()  # the token survives a reload (sessionStorage)
    await expect(page.locator("#live-text")).to_have_text("A plain question?")
    assert [p for p in problems if "WebSocket" not in p] == []


async def test_host_page_with_a_wrong_token_says_so(server: Server, browser) -> None:
    page, _ = await open_page(browser, f"{server.http}/host#token=wrong")
    await expect(page.locator("#status")).to_contain_text("wrong or missing token")
    await expect(page.locator("#gate")).to_contain_text("refused: wrong or missing token")
    await expect(page.locator("#live-empty")).to_be_hidden()


async def test_overlay_shows_only_the_live_question_fades_and_empties(
        server: Server, tokens, browser) -> None:
    await seed(server)
    page, problems = await open_page(browser, f"{server.http}/overlay#token={tokens['overlay']}")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgba(0, 0, 0, 0)"
    await page.wait_for_timeout(300)
    assert await page.text_content("#text") == ""
    assert not await page.eval_on_selector("#card", "e => e.classList.contains('visible')")
    await server.queue.apply(Command(op="go_live", question=2), "mod")
    await expect(page.locator("#card.visible #text")).to_have_text(IMG, timeout=1000)
    assert await page.text_content("#who") == "Eve"
    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("img").count() == 0
    size = await page.evaluate("parseFloat(getComputedStyle(document.getElementById('text'))"
                               ".fontSize)")
    assert size >= 40  # readable on a 1080p stream
    transition = await page.evaluate("getComputedStyle(document.getElementById('card'))"
                                     ".transitionDuration")
    assert transition == "0.4s"
    await server.queue.apply(Command(op="next"), "mod")  # 2 answered, 1 (script) live
    await expect(page.locator("#card.visible #text")).to_have_text(SCRIPT, timeout=1000)
    assert await page.evaluate("window.__pwned") is None
    await server.queue.apply(Command(op="answered", question=1), "mod")
    await expect(page.locator("#card")).not_to_have_class("card visible", timeout=1000)
    await expect(page.locator("#text")).to_have_text("", timeout=2000)
    assert "Eve" not in await page.content() or await page.text_content("#who") == ""
    assert problems == []


async def test_pages_send_a_strict_csp(server: Server, browser) -> None:
    page = await browser.new_page()
    for path in ("/host", "/overlay", "/static/common.js"):
        response = await page.goto(f"{server.http}{path}")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
    response = await page.goto(f"{server.http}/static/auth.py")
    assert response is not None and response.status == 404
