"""What host and overlay receive, over the wire and on the pages, per kind of sensitive datum.

Each case is a question holding one datum that must stay with the moderators. It travels the
whole way: snapshot frames, `changed` frames, the /host and /overlay pages in headless Chromium
(their DOM and every websocket frame they received). The datum must be absent from every host
and overlay surface and present for the moderator, or the check proves nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, expect

from aggregator.commands import Command
from aggregator.model import Author, Incoming
from aggregator.privacy import HIDDEN_ASKER
from tests.support.browser import needs_chromium
from tests.ws.conftest import Server, hello, read_until, snapshot_done

SENTINEL = "The sentinel question?"


@dataclass
class Case:
    incoming: Incoming
    secret: str
    #: commands after it arrived; {id} is its id
    ops: list[tuple[str, dict]] = field(default_factory=lambda: [("approve", {}),
                                                                  ("go_live", {})])
    #: its wording reaches host and overlay (a check that the pages did render it)
    shown: bool = True


def _mail(name: str, address: str, text: str) -> Incoming:
    return Incoming(source="email", external_id=f"<{text}>",
                    author=Author(name=name, id=address, email=address), text=text)


CASES = {
    "address-only sender": Case(
        _mail("jane.secret@example.org", "jane.secret@example.org", "Slides shared after?"),
        "jane.secret@example.org"),
    "address as display name": Case(
        _mail('"jane@example.org" <jane@example.org>', "jane@example.org",
              "Is there a recording?"), "jane@example.org"),
    "private unconfirmed": Case(
        Incoming(source="zoom", external_id="z1", author=Author(name="Grace", id="zg"),
                 text="Maggie, a private note: my account was blocked.", flags=("private",)),
        # the queue refuses to approve it unconfirmed (tests/unit/test_queue_batches.py);
        # it waits in Incoming, and no page may learn of it
        "my account was blocked", ops=[], shown=False),
    "private confirmed (asker hidden)": Case(
        Incoming(source="zoom", external_id="z2", author=Author(name="Heidi Hidden", id="zh"),
                 text="When is the next release?", flags=("private", "private_confirmed")),
        "Heidi Hidden"),
    "author id": Case(
        Incoming(source="youtube", external_id="y1",
                 author=Author(name="Ana", id="UCsecretAuthorId42"), text="Dark mode soon?"),
        "UCsecretAuthorId42"),
    "a dismissed question's note": Case(
        Incoming(source="youtube", external_id="y2", author=Author(name="Bo", id="UCbo"),
                 text="Spam spam spam"),
        "NOTE-only-for-moderators",
        ops=[("note", {"note": "NOTE-only-for-moderators"}),
             ("dismiss", {"reason": "spam"})], shown=False),
}

pytestmark = needs_chromium


async def _page(browser: Browser, url: str):  # noqa: ANN202
    """A page and every websocket frame it receives."""
    page = await browser.new_page()
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived",
                                          lambda payload: received.append(str(payload))))
    await page.goto(url)
    return page, received


async def _apply(server: Server, op: str, qid: int | None, args: dict | None = None) -> None:
    await server.queue.apply(Command(op=op, question=qid, args=args or {}), "mod")


@pytest.mark.parametrize("name", list(CASES))
async def test_sensitive_data_reach_moderators_only(server: Server, tokens, browser,
                                                    name: str) -> None:
    case = CASES[name]
    streams = {role: (await hello(server.url, role, tokens[role]))[0]
               for role in ("moderator", "host", "overlay")}
    seen: dict[str, list[dict]] = {role: [] for role in streams}
    for role, ws in streams.items():
        seen[role] += await read_until(ws, snapshot_done)
    host_page, host_frames = await _page(browser, f"{server.http}/host#token={tokens['host']}")
    overlay_page, overlay_frames = await _page(
        browser, f"{server.http}/overlay#token={tokens['overlay']}")

    await server.queue.submit(case.incoming)
    qid = next(q.id for q in server.queue.all() if q.external_id == case.incoming.external_id)
    for op, args in case.ops:
        await _apply(server, op, qid, args)
    await server.queue.submit(Incoming(source="manual", external_id="s", text=SENTINEL,
                                       author=Author(name="Sam", id="sam")))
    sentinel = next(q.id for q in server.queue.all() if q.text == SENTINEL)
    await _apply(server, "approve", sentinel)

    # the snapshot path: a fresh connection of each role sees the question in its state
    for role in streams:
        ws, _ = await hello(server.url, role, tokens[role])
        seen[role] += await read_until(ws, snapshot_done)
        await ws.close()
    # the pages, with the question live (or kept from them)
    await expect(host_page.locator("#queue li span")).to_contain_text(SENTINEL)
    if case.shown:
        wording = case.incoming.text
        await expect(host_page.locator("#live-text")).to_have_text(wording)
        await expect(overlay_page.locator("#card.visible #text")).to_have_text(wording)
    doms = {"host": [await host_page.content()], "overlay": [await overlay_page.content()]}

    # the changed path: `next` takes the sentinel live; every stream reads up to it
    await _apply(server, "next", None)
    for role, ws in streams.items():
        seen[role] += await read_until(ws, lambda f: f["type"] == "changed"
                                       and f["question"]["id"] == sentinel
                                       and f["question"]["status"] == "live")
        await ws.close()
    await expect(host_page.locator("#live-text")).to_have_text(SENTINEL)
    await expect(overlay_page.locator("#card.visible #text")).to_have_text(SENTINEL)
    doms["host"].append(await host_page.content())
    doms["overlay"].append(await overlay_page.content())

    surfaces = {
        "host frames": json.dumps(seen["host"]),
        "overlay frames": json.dumps(seen["overlay"]),
        "/host page": "\n".join(doms["host"] + host_frames),
        "/overlay page": "\n".join(doms["overlay"] + overlay_frames),
    }
    for surface, text in surfaces.items():
        assert case.secret not in text, f"{name}: leaked to {surface}"
        assert SENTINEL in text, f"{surface} never saw the sentinel: the check proves nothing"
        if case.shown:
            assert case.incoming.text in text, f"{surface} never saw the question"
    assert case.secret in json.dumps(seen["moderator"]), "the moderator must see everything"
    if name.startswith("private confirmed"):
        assert HIDDEN_ASKER in surfaces["/overlay page"]
