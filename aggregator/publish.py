"""`townhall publish`: the wikitext notes page to `[wiki] page` through the MediaWiki action API.

Why the checks around the edit: the page is public and people fix typos or add links on it after
a call. Republishing must never silently destroy their work, and must not fill the page history
with identical revisions.

- Unchanged text makes no edit (MediaWiki would record a null edit anyway; we say so).
- The revision id of our last publish is kept in a small JSON file next to the store
  (`<store>.wiki.json`, one entry per wiki page): publish only reads the store, so it runs while
  a server owns it. When the page's current revision is not the one we published, someone edited
  it since: the publish is refused, with who and when, unless `--force`. A page that exists but
  was never published from this store is refused the same way.
- Between our check and the edit, `basetimestamp`/`starttimestamp` (sent by mwclient) let the
  wiki itself detect an edit made in that instant; a first publish uses `createonly`, an update
  `nocreate`, so a page created or deleted meanwhile is an error too.
- mwclient sends `maxlag` on every request and waits when the wiki is lagged; a `ratelimited`
  answer is reported, never retried in a loop.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import Config, ConfigError

USER_AGENT = "townhall/0.1 (meeting notes publisher)"


class PublishError(Exception):
    """A publish that could not be done; the message is one line saying why and what to do."""


@dataclass
class PageState:
    exists: bool
    text: str = ""
    revid: int = 0
    user: str = ""
    timestamp: str = ""
    url: str = ""


@dataclass
class Outcome:
    action: str  # created | updated | unchanged | conflict | would-create | would-update
    message: str
    revid: int = 0


# --- the record of our last publish ------------------------------------------------------------


def record_path(config: Config) -> Path:
    store = config.store_path
    return store.with_name(store.name + ".wiki.json")


def _record_key(config: Config) -> str:
    return f"{config.wiki.api_url} {config.wiki.page}"


def load_records(config: Config) -> dict[str, Any]:
    try:
        data = json.loads(record_path(config).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def last_published(config: Config) -> dict[str, Any] | None:
    """What we published last to `[wiki] page` (revid, url), or None."""
    entry = load_records(config).get(_record_key(config))
    return entry if isinstance(entry, dict) else None


def _save_record(config: Config, revid: int, url: str) -> None:
    from .export import write_atomically

    records = load_records(config)
    records[_record_key(config)] = {"revid": revid, "url": url, "page": config.wiki.page}
    write_atomically(record_path(config),
                     [json.dumps(records, indent=2, sort_keys=True).encode() + b"\n"])


# --- talking to the wiki -------------------------------------------------------------------


def _required(config: Config) -> None:
    wiki = config.wiki
    for key, value, fix in (
        ("api_url", wiki.api_url, 'e.g. api_url = "https://meta.wikimedia.org/w/api.php"'),
        ("page", wiki.page, 'the title of the notes page, e.g. page = "Meeting notes 2022-11-10"'),
    ):
        if not value.strip():
            raise ConfigError(config.source, f"[wiki] {key}", "is empty", fix)


def connect(config: Config, *, login: bool) -> Any:
    """An mwclient Site for `[wiki] api_url`, logged in when `login` (or when a password is
    set: a private wiki needs it even to read)."""
    import mwclient

    _required(config)
    wiki = config.wiki
    parts = urlsplit(wiki.api_url)
    path = parts.path[: -len("api.php")]
    password = config.secret(wiki.password_env)
    if login and not wiki.username:
        raise ConfigError(config.source, "[wiki] username", "is empty",
                          "create a bot password on the wiki (Special:BotPasswords) and write "
                          'its user name here, e.g. username = "Example@townhall"')
    if login and password is None:
        raise PublishError(f"the environment variable {wiki.password_env} (named by [wiki] "
                           "password_env) is not set: export the bot password there")
    site = _guard(lambda: mwclient.Site(
        parts.netloc, path=path, scheme=parts.scheme, clients_useragent=USER_AGENT,
        max_retries=2, retry_timeout=2, connection_options={"timeout": 30}), config)
    if wiki.username and password is not None:
        _guard(lambda: site.login(wiki.username, password), config)
    return site


def _guard(call: Any, config: Config) -> Any:
    """Run one mwclient call; every failure becomes a PublishError of one line."""
    import mwclient.errors as mw
    import requests

    api = config.wiki.api_url
    try:
        return call()
    except mw.LoginError as exc:
        raise PublishError(
            f"the wiki refused the login of {config.wiki.username!r}: {_line(exc.info)} "
            f"(check [wiki] username, a bot password's name like User@app, and the password "
            f"in ${config.wiki.password_env})") from None
    except mw.ProtectedPageError as exc:
        raise PublishError(f"may not edit {config.wiki.page!r}: {_line(str(exc))} (the page "
                           "is protected or the bot password lacks the edit grants)") from None
    except mw.EditError as exc:
        raise PublishError(f"the wiki refused the edit of {config.wiki.page!r}: "
                           f"{_line(' '.join(map(str, exc.args[1:])))} (someone may have edited "
                           "it this very moment: run publish again)") from None
    except mw.InvalidResponse:
        raise PublishError(f"{api} does not answer like a MediaWiki API: check [wiki] "
                           "api_url (it ends in api.php)") from None
    except mw.MaximumRetriesExceeded:
        raise PublishError(f"the wiki at {api} stayed lagged or unreachable: try again "
                           "later") from None
    except mw.APIError as exc:
        if exc.code == "ratelimited":
            raise PublishError("the wiki limits how fast this account may edit: wait a "
                               "minute and publish again") from None
        raise PublishError(f"the wiki answered {exc.code}: {_line(exc.info)}") from None
    except mw.MwClientError as exc:
        raise PublishError(f"the wiki refused: {_line(str(exc))}") from None
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise PublishError(f"{api} answered HTTP {status}: check [wiki] api_url") from None
    except (requests.RequestException, OSError) as exc:
        raise PublishError(f"cannot reach the wiki at {api}: "
                           f"{_line(type(exc).__name__ + ': ' + str(exc))}") from None


def _line(text: object) -> str:
    return " ".join(str(text).split())[:300]


def page_state(site: Any, config: Config) -> PageState:
    """The page as it is now: its latest revision's text, id, author and time, and its URL."""
    answer = _guard(lambda: site.get(
        "query", prop="revisions|info", titles=config.wiki.page, inprop="url",
        rvprop="ids|user|timestamp|content", rvslots="main", formatversion="2"), config)
    pages = answer.get("query", {}).get("pages", [])
    page = pages[0] if pages else {}
    if page.get("invalid"):
        raise PublishError(f"[wiki] page {config.wiki.page!r} is not a valid title: "
                           f"{_line(page.get('invalidreason', ''))}")
    url = page.get("fullurl", "")
    if page.get("missing", False) or not page.get("revisions"):
        return PageState(exists=False, url=url)
    revision = page["revisions"][0]
    text = revision.get("slots", {}).get("main", {}).get("content", "")
    return PageState(exists=True, text=text, revid=int(revision.get("revid", 0)),
                     user=revision.get("user", ""), timestamp=revision.get("timestamp", ""),
                     url=url)


def same_text(a: str, b: str) -> bool:
    """MediaWiki drops trailing whitespace when it saves."""
    return a.rstrip() == b.rstrip()


def diff(old: str, new: str, title: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"{title} (on the wiki)",
                                 f"{title} (from the store)", lineterm="")
    return "\n".join(lines)


def decide(state: PageState, text: str, record: dict[str, Any] | None, force: bool
           ) -> tuple[str, str]:
    """(action, why): create, update, unchanged or conflict."""
    if not state.exists:
        return "create", "the page does not exist yet"
    if same_text(state.text, text):
        return "unchanged", "the page already has these notes"
    ours = record.get("revid") if record else None
    if ours == state.revid:
        return "update", f"the page is still at our last publish (revision {state.revid})"
    who = f"{state.user or 'someone'} at {state.timestamp or 'an unknown time'}"
    if ours is None:
        why = (f"the page exists and was not published from this store (last edit by {who}, "
               f"revision {state.revid})")
    else:
        why = (f"the page was edited by {who} (revision {state.revid}) since our last publish "
               f"(revision {ours})")
    return ("update" if force else "conflict"), why


def publish(config: Config, text: str, *, dry_run: bool = False, force: bool = False,
            out: Any = None) -> Outcome:
    """Publish `text` (the wikitext notes page); `out` gets the dry run's page and diff."""
    site = connect(config, login=not dry_run)
    state = page_state(site, config)
    record = last_published(config)
    action, why = decide(state, text, record, force)
    title = config.wiki.page
    if dry_run:
        assert out is not None
        out.write(text if text.endswith("\n") else text + "\n")
        if state.exists and action != "unchanged":
            out.write(diff(state.text, text, title) + "\n")
        verb = {"create": "would create", "update": "would update", "unchanged": "unchanged:",
                "conflict": "would refuse:"}[action]
        return Outcome(f"dry-run-{action}", f"dry run: {verb} {title!r} ({why}); nothing "
                       "was changed")
    if action == "conflict":
        return Outcome("conflict", f"refused: {why}. Look at their change with "
                       "`townhall publish --dry-run`, then publish with --force to replace "
                       "the page with the notes")
    if action == "unchanged":
        if state.revid and (record is None or record.get("revid") != state.revid):
            _save_record(config, state.revid, state.url)
        return Outcome("unchanged", f"{title!r} already has these notes (revision "
                       f"{state.revid}); no edit made", state.revid)
    page = _guard(lambda: site.pages[title], config)
    extra = {"createonly": "1"} if action == "create" else {"nocreate": "1"}
    if action == "update":
        _guard(lambda: page.text(cache=False), config)  # mwclient's basetimestamp for the edit
        if page.revision != state.revid:  # someone saved in between: the check above is stale
            return Outcome("conflict", f"refused: {title!r} changed while publishing (revision "
                           f"{page.revision}, we checked {state.revid}). Run `townhall publish "
                           "--dry-run` to see it")
        extra["baserevid"] = str(state.revid)  # the wiki detects a conflict from this base
    result = _guard(lambda: page.edit(text, summary=config.wiki.summary, bot=False,
                                      **extra), config)
    revid = int(result.get("newrevid") or state.revid)
    url = state.url or page_state(site, config).url
    _save_record(config, revid, url)
    done = "created" if action == "create" else "updated"
    return Outcome(done, f"{done} {title!r}: revision {revid} ({url})", revid)
