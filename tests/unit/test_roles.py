"""The role policy (aggregator/roles.py) as pure functions: ops, visibility, allowlists."""

from __future__ import annotations

import msgspec
import pytest

from aggregator import protocol
from aggregator.model import Asker, Author, Question, Status
from aggregator.roles import (
    ROLE_OPS,
    HostQuestion,
    OverlayQuestion,
    may_send,
    opened_by,
    present,
    sees_everything,
    tombstone,
    visible,
)


def question(**kw: object) -> Question:
    base = dict(id=7, source="email", external_id="<m@x>", received_at="2026-01-01T00:00:00Z",
                author=Author(name="Jo <jo@example.org>", id="jo@example.org",
                              email="jo@example.org"),
                text="Original?", edited_text="Edited?", status=Status.LIVE, note="secret note",
                askers=(Asker(source="email", name="jo@example.org", id="jo@example.org"),
                        Asker(source="youtube", name="Bo", id="UCbo")),
                meta={"x": 1}, tags=("billing",), assignee="Jan", rank=2)
    base.update(kw)
    return Question(**base)  # type: ignore[arg-type]


def test_the_allowlists_are_exactly_what_each_page_may_show() -> None:
    """A field added to one of these Structs must be a decision: this test names them all."""
    assert set(HostQuestion.__struct_fields__) == {
        "id", "status", "version", "source", "text", "author", "rank", "starred", "tags",
        "assignee", "askers", "asker_count"}
    assert set(OverlayQuestion.__struct_fields__) == {"id", "status", "version", "text",
                                                      "author"}


def test_host_and_overlay_get_the_wording_and_public_names_only() -> None:
    q = question()
    host = present("host", q)
    assert isinstance(host, HostQuestion)
    assert (host.text, host.askers[1], host.asker_count) == ("Edited?", "Bo", 2)
    assert host.author.name and "@" not in host.author.name + host.askers[0]
    overlay = present("overlay", q)
    assert isinstance(overlay, OverlayQuestion)
    for view in (host, overlay):
        raw = msgspec.json.encode(view).decode()
        for hidden in ("@", "secret note", "UCbo", "Original?", "meta"):
            assert hidden not in raw
    assert present("moderator", q) == q


@pytest.mark.parametrize("flags,shown,name", [(("private",), False, None),
                                              (("private", "private_confirmed"), True,
                                               "Anonymous")])
def test_a_private_question_needs_confirmation_and_hides_its_asker(flags, shown, name) -> None:
    q = question(flags=flags)
    assert visible("moderator", q)
    for role in ("host", "overlay"):
        assert visible(role, q) is shown
        if shown:
            assert present(role, q).author.name == name
    if shown:
        assert set(present("host", q).askers) == {"Anonymous"}


def test_statuses_ops_and_tokens_per_role() -> None:
    queued = question(status=Status.QUEUED)
    assert visible("host", queued) and not visible("overlay", queued)
    assert not visible("host", question(status=Status.DISMISSED))
    assert not visible("admin", queued)
    assert may_send("host", "next") and not may_send("host", "approve")
    assert ROLE_OPS["overlay"] == frozenset() and not may_send("nobody", "next")
    assert sees_everything("moderator") and not sees_everything("host")
    assert opened_by("overlay") == ("moderator", "host", "overlay") and opened_by("x") == ()


def test_a_tombstone_says_only_id_status_and_version() -> None:
    gone = tombstone("host", question(status=Status.ANSWERED, version=5))
    assert msgspec.to_builtins(gone)["text"] == ""
    assert (gone.id, gone.status, gone.version, gone.author.name) == (7, "answered", 5, "")
    with pytest.raises(ValueError):
        tombstone("moderator", question())


def test_a_host_decoder_reads_what_the_server_encodes() -> None:
    frame = protocol.encode(protocol.ChangedFrame(seq=3, question=present("host", question())))
    decoded = protocol.server_decoder("host").decode(frame)
    assert isinstance(decoded, protocol.ChangedFrame)
    assert decoded.question == present("host", question())
