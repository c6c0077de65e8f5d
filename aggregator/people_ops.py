"""Who asked: the ban list and the identity links, as pure handlers (`ban`, `unban`, `link`,
`unlink`, `flag_author`, registered in commands.HANDLERS on import) and the rules they share.

One person may write from several identities (a YouTube channel, an email address): `link`
joins them, and a ban or unban covers the whole person. The queue (queue.py, pending.py) and
the TUI use the same rules to decide which ban-list entries name an author.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .commands import Command, CommandError, Draft, _move, _target, handler
from .model import Identity, Question, Status


def canonical_identity(identity: str) -> str:
    """`identity` as links and bans compare it: email addresses are case-blind."""
    return identity.lower() if identity.startswith("email:") else identity


def person_identities(identity: str, links: dict[str, str]) -> list[str]:
    """`identity` and every identity linked to the same person (the `link` command)."""
    key = canonical_identity(identity)
    person = links.get(identity, links.get(key))
    linked = [i for i, p in links.items() if p == person] if person is not None else []
    return list(dict.fromkeys([identity, key, *linked]))


def own_entries(q: Question) -> list[str]:
    """The ban-list entries naming `q`'s author directly (links are resolved at lookup)."""
    entries = [str(q.identity)]
    if q.author.email:
        entries.append(f"email:{q.author.email.lower()}")
    return entries


def is_banned(q: Question, bans: set[str], links: dict[str, str]) -> bool:
    """Does the ban list cover `q`'s author (directly, by email or through a linked identity)?"""
    return bool(bans) and any(entry in bans for entry in ban_entries(q, links))


def ban_entries(q: Question, links: dict[str, str]) -> list[str]:
    """The ban-list entries that cover `q`'s author: identity, email, and linked identities."""
    entries = person_identities(str(q.identity), links)
    if q.author.email:
        entries += person_identities(f"email:{q.author.email.lower()}", links)
    return list(dict.fromkeys(entries))


def apply_ban(draft: Draft, entries: Iterable[str], detail: dict[str, Any]) -> int:
    """Dismiss the banned author's new questions, flag their queued and live ones."""
    touched = 0
    seen: set[int] = set()
    for entry in entries:
        for qid in draft.view.ids_for_entry(entry):
            if qid in seen:
                continue
            seen.add(qid)
            q = draft.get(qid)
            flags = q.flags if "banned_author" in q.flags else (*q.flags, "banned_author")
            if q.status is Status.NEW:
                _move(draft, q, "dismiss", {"reason": "banned", **detail},
                      dismiss_reason="banned", flags=flags)
                touched += 1
            elif q.status in (Status.QUEUED, Status.LIVE):
                draft.update(qid, "ban", detail, flags=flags)
                touched += 1
    return touched


@handler("ban")
def _ban(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    bans = draft.view.bans
    entries = [e for e in ban_entries(q, draft.view.links) if e not in bans]
    if not entries:
        raise CommandError("invalid", f"the author of #{q.id} is already banned")
    draft.effect.bans_added = entries
    draft.effect.summary["affected"] = apply_ban(draft, entries, {"entries": entries})
    draft.update(q.id, "ban", {"entries": entries})


@handler("unban")
def _unban(draft: Draft, command: Command, actor: str) -> None:
    entry = command.args.get("identity")
    if not isinstance(entry, str) or entry not in draft.view.bans:
        raise CommandError("invalid", f"{entry!r} is not on the ban list")
    # One person, one ban: lift it from every identity linked to the same person.
    person = {canonical_identity(i) for i in person_identities(entry, draft.view.links)}
    in_config = sorted(b for b in draft.view.config_bans if canonical_identity(b) in person)
    if in_config:
        raise CommandError("invalid", f"{', '.join(in_config)} is banned by the config file "
                           "([triage] banned): remove it there and restart")
    draft.effect.bans_removed = sorted(b for b in draft.view.bans if canonical_identity(b) in person)


@handler("link", "unlink")
def _link(draft: Draft, command: Command, actor: str) -> None:
    """Mark identities as one person (link) or separate one again (unlink)."""
    raw = command.args.get("identities")
    if not isinstance(raw, list) or not raw or not all(isinstance(i, str) for i in raw):
        raise CommandError("invalid", "'identities' must be a list like ['youtube:UC1', 'email:a@b']")
    try:
        idents = [canonical_identity(str(Identity.parse(i))) for i in raw]
    except ValueError as exc:
        raise CommandError("invalid", str(exc)) from None
    links = draft.view.links
    if command.op == "unlink":
        draft.effect.links_removed = [i for i in idents if i in links]
        return
    if len(idents) < 2:
        raise CommandError("invalid", "link needs at least two identities")
    person = next((links[i] for i in idents if i in links), idents[0])
    their_people = {links.get(x) for x in idents} - {None}
    merged = {i for i, p in links.items() if p in their_people}
    draft.effect.links_added = [(i, person) for i in sorted(set(idents) | merged)]
    # A person already banned under one identity is banned under the newly linked ones too.
    joined = [i for i, _ in draft.effect.links_added]
    if any(canonical_identity(b) in joined for b in draft.view.bans):
        draft.effect.summary["affected"] = apply_ban(draft, joined, {"linked": joined})


@handler("flag_author")
def _flag_author(draft: Draft, command: Command, actor: str) -> None:
    """Add a flag (e.g. banned_author from a chat moderator's ban) to an author's open questions."""
    identity, flag = command.args.get("identity"), command.args.get("flag")
    if not isinstance(identity, str) or not isinstance(flag, str) or not flag:
        raise CommandError("invalid", "flag_author needs 'identity' and 'flag'")
    for qid in draft.view.ids_for_entry(identity):
        q = draft.get(qid)
        if q.is_open and flag not in q.flags:
            draft.update(qid, "flag", {"flag": flag}, flags=(*q.flags, flag))
