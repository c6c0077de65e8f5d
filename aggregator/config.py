"""The TOML config (see config.example.toml) as typed, validated settings.

Why msgspec: it converts the parsed TOML into these structs, rejects unknown keys, wrong types
and values out of range (`Annotated[..., msgspec.Meta(...)]` constraints), and reports the exact
path of the bad value, which becomes our "file, key, fix" message. A constraint's `extra` holds
the wording of that message: `problem` and `fix`.

Secrets never live in the file: a key ending in `_env` names an environment variable, read only
through `Config.secret()`. A value there that cannot be a variable name is most likely the
secret itself, pasted by mistake; it is refused, and the error never repeats it (the message
ends up in terminals, logs and bug reports).

Lookup order: `--config`, then `$TOWNHALL_CONFIG`, then `./townhall.toml`, then
`<user config dir>/townhall/townhall.toml`. No file at all is fine: every collector is off.
A relative `[store] path` is relative to the config file's folder.
"""

from __future__ import annotations

import itertools
import os
import re
import tomllib
from datetime import date, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import msgspec
import platformdirs

from .model import Identity
from .net import is_loopback

APP_NAME = "townhall"


class ConfigError(Exception):
    """A config problem, worded for the person who has to fix the file."""

    def __init__(self, file: str | Path | None, key: str | None, problem: str, fix: str = ""):
        where = str(file) if file else "config"
        if key:
            where += f": {key}"
        message = f"{where}: {problem}"
        if fix:
            message += f"\n  fix: {fix}"
        super().__init__(message)
        self.file, self.key, self.problem, self.fix = file, key, problem, fix


def _meta(problem: str, fix: str, **constraints: Any) -> msgspec.Meta:
    return msgspec.Meta(**constraints, extra={"problem": problem, "fix": fix})


#: The name of an environment variable (empty: none). Every `*_env` key has this type.
ENV_NAME_PATTERN = r"^([A-Za-z_][A-Za-z0-9_]*)?$"
EnvName = Annotated[str, _meta(
    "the value is not an environment variable name and looks like a pasted secret "
    "(so it is not repeated here)",
    "put the secret in an environment variable and write the variable's name here, "
    "e.g. {key} = \"{example}\" and `export {example}=...` before starting townhall",
    pattern=ENV_NAME_PATTERN)]
Port = Annotated[int, _meta("not a TCP port", "use 1 to 65535, e.g. {example}", ge=1, le=65535)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class MeetingConfig(_Section):
    title: str = "Townhall"
    starts_at: str | None = None
    host: str | None = None
    duration_minutes: Annotated[int, _meta("must be between 1 and 1440 (a day)", "e.g. 90",
                                           ge=1, le=24 * 60)] = 120
    answerers: list[str] = []
    recording_url: str = ""  # default: the [youtube] video
    recording_started_at: str | None = None  # default: recorded by the op, or YouTube's start


class StoreConfig(_Section):
    path: str | None = None


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: Port = 8765
    moderator_token_env: EnvName = "TOWNHALL_MODERATOR_TOKEN"
    host_token_env: EnvName = "TOWNHALL_HOST_TOKEN"
    overlay_token_env: EnvName = "TOWNHALL_OVERLAY_TOKEN"


class ZoomConfig(_Section):
    enabled: bool = False
    mode: Literal["webhook", "websocket"] = "webhook"
    secret_token_env: EnvName = "ZOOM_WEBHOOK_SECRET_TOKEN"
    timestamp_tolerance_seconds: Annotated[int, _meta(
        "must be positive", "300 is Zoom's advice", ge=1)] = 300
    # websocket mode
    subscription_url: str = ""
    client_id_env: EnvName = "ZOOM_CLIENT_ID"
    client_secret_env: EnvName = "ZOOM_CLIENT_SECRET"
    account_id: str = ""
    token_url: str = "https://zoom.us/oauth/token"
    grant_type: Literal["account_credentials", "client_credentials"] = "account_credentials"
    # the REST API, for `townhall zoom-import-qa`
    api_base_url: str = "https://api.zoom.us/v2"
    # webhook mode: the public https address Zoom posts to (a tunnel to [server] port);
    # optional, `townhall preflight` asks it for /healthz from outside
    public_url: str = ""


class YouTubeConfig(_Section):
    enabled: bool = False
    video: str = ""
    live_chat_id: str = ""
    api_key_env: EnvName = "YOUTUBE_API_KEY"
    oauth_token_file: str = ""
    client_secrets_file: str = ""
    daily_quota_units: Annotated[int, _meta(
        "must be positive", "10000 is Google's default", ge=1)] = 10_000
    api_endpoint: str = ""
    # stream: the server-streaming chat (low latency, one call per connection); poll: the
    # list call; auto: stream, and poll when the stream is not offered (404) or refused (403)
    transport: Literal["auto", "stream", "poll"] = "auto"
    # Google does not publish what one stream connection costs: counted like a list call
    stream_call_units: Annotated[int, _meta(
        "must be between 1 and 10000", "5, what a list call costs", ge=1, le=10_000)] = 5


class EmailConfig(_Section):
    enabled: bool = False
    host: str = ""
    port: Annotated[int, _meta("not a TCP port", "993 for tls, 143 otherwise",
                               ge=1, le=65535)] = 993
    security: Literal["tls", "starttls", "plain"] = "tls"
    allow_plain_remote: bool = False
    ca_file: str = ""
    username: str = ""
    password_env: EnvName = "TOWNHALL_IMAP_PASSWORD"
    oauth2_token_env: EnvName = ""
    oauth2_token_command: str = ""
    mailbox: str = "INBOX"
    subject_include: list[str] = []
    subject_exclude: list[str] = []
    since: str = ""
    include_replies: bool = False
    maildir: str = ""


class WikiConfig(_Section):
    """Where `townhall publish` puts the notes page (a bot password from Special:BotPasswords)."""

    api_url: str = ""
    page: str = ""
    username: str = ""
    password_env: EnvName = "TOWNHALL_WIKI_PASSWORD"
    summary: str = "Notes of the meeting"


class SmtpConfig(_Section):
    """The mail server `townhall followup send --send` sends the written answers through."""

    host: str = ""
    port: Port = 587
    security: Literal["tls", "starttls", "plain"] = "starttls"
    username: str = ""  # empty: no login (a local relay)
    password_env: EnvName = "TOWNHALL_SMTP_PASSWORD"
    from_: str = msgspec.field(default="", name="from")
    ca_file: str = ""  # a CA bundle to trust instead of the system's (a private CA)


class TriageConfig(_Section):
    banned: list[str] = []
    topics: dict[str, list[str]] = {}
    uncivil_words: list[str] | None = None


class TuiConfig(_Section):
    keymap: dict[str, str] = {}
    #: the moderator's name in the audit log (`townhall run --name` wins over it)
    name: Annotated[str, _meta("must be at most 80 characters", "e.g. \"Ana\"",
                               max_length=80)] = ""


class ExportConfig(_Section):
    include_askers: bool = False


class Config(_Section):
    meeting: MeetingConfig = msgspec.field(default_factory=MeetingConfig)
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    zoom: ZoomConfig = msgspec.field(default_factory=ZoomConfig)
    youtube: YouTubeConfig = msgspec.field(default_factory=YouTubeConfig)
    email: EmailConfig = msgspec.field(default_factory=EmailConfig)
    triage: TriageConfig = msgspec.field(default_factory=TriageConfig)
    tui: TuiConfig = msgspec.field(default_factory=TuiConfig)
    export: ExportConfig = msgspec.field(default_factory=ExportConfig)
    wiki: WikiConfig = msgspec.field(default_factory=WikiConfig)
    smtp: SmtpConfig = msgspec.field(default_factory=SmtpConfig)
    #: where this config came from; None when no file was found (defaults only)
    source: str | None = None

    def secret(self, env_name: str) -> str | None:
        """The value of the environment variable a `*_env` key names, or None if unset/empty."""
        if not env_name:
            return None
        value = os.environ.get(env_name, "")
        return value or None

    def relative(self, name: str) -> Path:
        """A file named in the config: relative names are relative to the config file."""
        path = Path(name).expanduser()
        if not path.is_absolute() and self.source:
            path = Path(self.source).resolve().parent / path
        return path

    @property
    def store_path(self) -> Path:
        if self.store.path:
            return self.relative(self.store.path)
        return Path(platformdirs.user_data_dir(APP_NAME)) / "townhall.db"

    @property
    def banned_identities(self) -> list[Identity]:
        return [Identity.parse(entry) for entry in self.triage.banned]


# --- loading --------------------------------------------------------------------------------


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """The config file to use, by the lookup order above; None when there is none."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get("TOWNHALL_CONFIG")
    if from_env:
        return Path(from_env).expanduser()
    here = Path("townhall.toml")
    if here.is_file():
        return here
    user = Path(platformdirs.user_config_dir(APP_NAME)) / "townhall.toml"
    return user if user.is_file() else None


def load_config(explicit: str | Path | None = None) -> Config:
    """Find, parse and validate the config; a ConfigError says what to fix."""
    path = find_config_file(explicit)
    if path is None:
        return Config()
    return parse_config(_read(path), source=str(path))


def check_config_file(explicit: str | Path | None = None) -> tuple[Config, list[ConfigError]]:
    """Every problem of the config at once (for `townhall check-config`), and the config with
    the bad keys left at their defaults, so the rest can still be reported. A file that cannot
    be read or parsed at all raises its one ConfigError."""
    path = find_config_file(explicit)
    if path is None:
        return Config(), []
    return check_config_text(_read(path), source=str(path))


def _read(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(
            path, None, "no such file", "check the path given with --config or $TOWNHALL_CONFIG"
        )
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text ({exc.reason})", "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot be read ({exc.strerror})") from None


def parse_config(text: str, source: str | None = None) -> Config:
    config, problems = check_config_text(text, source)
    if problems:
        raise problems[0]
    return config


#: after this many problems in one file, check-config stops looking (a file of garbage)
MAX_PROBLEMS = 50


def check_config_text(text: str, source: str | None = None) -> tuple[Config, list[ConfigError]]:
    """The config and every problem in `text`, not only the first.

    msgspec stops at the first bad value, so each bad key found is reported, removed, and the
    rest converted again: the result holds every key that is fine, the bad ones at their
    defaults. Invalid TOML raises its one ConfigError (nothing after it can be trusted).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"invalid TOML: {exc}", "fix the syntax at that line") from None
    problems: list[ConfigError] = []
    if "source" in data:
        problems.append(ConfigError(source, "source", "unknown key", "remove it"))
        del data["source"]
    while True:
        try:
            config = msgspec.convert(data, Config)
            break
        except msgspec.ValidationError as exc:
            error, parts = _explain(exc, source)
            problems.append(error)
            if len(problems) >= MAX_PROBLEMS or not _drop(data, parts):
                return Config(source=source), problems
    config = msgspec.structs.replace(config, source=source)
    problems += _value_problems(config)
    return config, problems


def _drop(data: dict[str, Any], parts: list[str]) -> bool:
    """Remove the key at `parts` (up to its first list index) from `data`; False if absent."""
    keys = list(itertools.takewhile(lambda part: not part.startswith("["), parts))
    node: Any = data
    for key in keys[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if not keys or not isinstance(node, dict) or keys[-1] not in node:
        return False
    del node[keys[-1]]
    return True


_PATH = re.compile(r" - at `\$(.*)`$")
_PATH_PART = re.compile(r"\.([^.\[]+)|(\[[^\]]*\])")
_UNKNOWN = re.compile(r"^Object contains unknown field `([^`]*)`")


def _key_name(parts: list[str]) -> str:
    if not parts:
        return "(top level)"
    rest = "".join(p if p.startswith("[") else f".{p}" for p in parts[1:]).lstrip(".")
    return f"[{parts[0]}]" + (f" {rest}" if rest else "")


def _explain(exc: msgspec.ValidationError, source: str | None
             ) -> tuple[ConfigError, list[str]]:
    """The error worded for a person, and the path of the bad key in the TOML data."""
    message = str(exc)
    match = _PATH.search(message)
    parts: list[str] = []
    if match:
        parts = [a or b for a, b in _PATH_PART.findall(match.group(1))]
        message = message[: match.start()]
    unknown = _UNKNOWN.match(message)
    if unknown:
        parts = [*parts, unknown.group(1)]
        known = _known_keys(parts[:-1])
        return ConfigError(
            source, _key_name(parts), "unknown key",
            f"remove it or correct the spelling; known keys here: {', '.join(known)}",
        ), parts
    problem = message.replace("Expected", "expected").replace("`", "")
    fix = "see config.example.toml for this key"
    field = _field(parts)
    if field is not None and get_origin(field.type) is Literal:
        fix = "use one of: " + ", ".join(repr(c) for c in get_args(field.type))
    worded = _worded(field, parts[-1] if parts else "")
    # A type error (a number where text belongs) keeps msgspec's wording; a value that has
    # the right type but breaks the constraint gets the key's own problem and fix.
    if worded and " got " not in problem:
        problem, fix = worded
    return ConfigError(source, _key_name(parts), problem, fix), parts


def _field(parts: list[str]) -> msgspec.structs.FieldInfo | None:
    """The struct field at `[section] key`, or None for anything deeper or unknown."""
    if len(parts) != 2:
        return None
    section = {f.name: f.type for f in msgspec.structs.fields(Config)}.get(parts[0])
    if not (isinstance(section, type) and issubclass(section, msgspec.Struct)):
        return None
    return {f.encode_name: f for f in msgspec.structs.fields(section)}.get(parts[1])


def _worded(field: msgspec.structs.FieldInfo | None, key: str) -> tuple[str, str] | None:
    """(problem, fix) from the field's constraint, with `{key}` and `{example}` (the default
    value, or a made-up variable name) filled in."""
    if field is None or get_origin(field.type) is not Annotated:
        return None
    for meta in get_args(field.type)[1:]:
        extra = getattr(meta, "extra", None) or {}
        if "problem" in extra:
            default = field.default if field.default is not msgspec.NODEFAULT else ""
            example = default or key.removesuffix("_env").upper()
            return extra["problem"], extra["fix"].format(key=key, example=example)
    return None


def _known_keys(section_path: list[str]) -> list[str]:
    struct: Any = Config
    for part in section_path:
        field_type = {f.name: f.type for f in msgspec.structs.fields(struct)}.get(part)
        if not (isinstance(field_type, type) and issubclass(field_type, msgspec.Struct)):
            return []
        struct = field_type
    return [f.encode_name for f in msgspec.structs.fields(struct) if f.name != "source"]


def _value_problems(config: Config) -> list[ConfigError]:
    """What the types alone cannot catch, every problem in the order of the file's sections."""
    src = config.source
    problems: list[ConfigError] = []

    def fail(key: str, problem: str, fix: str) -> None:
        problems.append(ConfigError(src, key, problem, fix))

    for key, example in (("starts_at", "2022-11-10T14:00:00Z"),
                         ("recording_started_at", "2022-11-10T14:00:05Z")):
        value = getattr(config.meeting, key)
        if not value:
            continue
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            fail(f"[meeting] {key}", "not an ISO-8601 time", f'e.g. "{example}"')
            continue
        if moment.tzinfo is None:  # compared with the platforms' UTC times later
            fail(f"[meeting] {key}", "has no time zone",
                 f'add one: "Z" for UTC or an offset such as "+01:00", e.g. "{example}"')
    if config.meeting.recording_url and not re.fullmatch(
            r"https?://[^\s<>\[\]{}|\\^`\"']+", config.meeting.recording_url):
        fail("[meeting] recording_url", "not a web address (http or https, no spaces)",
             'e.g. "https://www.youtube.com/watch?v=VIDEO_ID"')
    if config.store.path is not None and not config.store.path.strip():
        # An empty path silently meant the default store, which may hold another meeting.
        fail("[store] path", "is empty", 'name the file of this meeting\'s store, e.g. '
             'path = "2024-05-townhall.db", or remove the key for the default location')
    if config.youtube.enabled and config.youtube.video:
        from .collectors.youtube_parse import parse_video_id

        if parse_video_id(config.youtube.video) is None:
            fail("[youtube] video", f"{config.youtube.video!r} is not a YouTube video",
                 'a watch, youtu.be or /live/ URL, or the 11-character id')
    if config.zoom.public_url:
        parts = urlsplit(config.zoom.public_url)
        if not (parts.hostname and (parts.scheme == "https" or (
                parts.scheme == "http" and is_loopback(parts.hostname)))):
            fail("[zoom] public_url", "not an https:// URL (Zoom posts webhooks only to https)",
                 'the address your tunnel gives, e.g. "https://example.trycloudflare.com"')
    # Addresses that carry a secret (the Zoom client secret and tokens, the YouTube key in the
    # query string): https, or http only to this machine (a test server, a local proxy).
    for key, url in (("[zoom] token_url", config.zoom.token_url),
                     ("[zoom] api_base_url", config.zoom.api_base_url),
                     ("[youtube] api_endpoint", config.youtube.api_endpoint)):
        if not url:
            continue
        parts = urlsplit(url)
        if not (parts.hostname and (parts.scheme == "https" or (
                parts.scheme == "http" and is_loopback(parts.hostname)))):
            fail(key, "not an https:// URL (it carries a secret; http only on this machine)",
                 "use the https address, or leave the key out for the default")
    if config.email.since:
        try:
            date.fromisoformat(config.email.since)
        except ValueError:
            fail("[email] since", "not a date", 'write it as "YYYY-MM-DD"')
    for index, entry in enumerate(config.triage.banned):
        try:
            Identity.parse(entry)
        except ValueError as exc:
            fail(f"[triage] banned[{index}]", str(exc), 'e.g. "youtube:UCxxxx" or "email:a@b.org"')
    for topic, keywords in config.triage.topics.items():
        if not topic.strip() or not any(k.strip() for k in keywords):
            fail(f"[triage] topics.{topic!r}", "a topic needs a name and at least one keyword",
                 'e.g. topics = { "Grants" = ["grant", "funding"] }')
    _check_wiki(config.wiki, fail)
    _check_smtp(config.smtp, fail)
    for index, word in enumerate(config.triage.uncivil_words or []):
        if not word.strip():
            fail(f"[triage] uncivil_words[{index}]", "an empty word would match nothing",
                 "remove it, or use [] to turn the word list off")
    return problems


def _check_wiki(wiki: WikiConfig, fail: Any) -> None:
    """The API address must be an api.php over https: the bot password travels with the
    login (plain http only to a wiki on this machine, e.g. a test wiki)."""
    if not wiki.api_url:
        return
    parts = urlsplit(wiki.api_url)
    fix = 'the wiki\'s api.php, e.g. "https://meta.wikimedia.org/w/api.php"'
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail("[wiki] api_url", "not an http(s) address", fix)
    if not parts.path.endswith("/api.php") or parts.query or parts.fragment:
        fail("[wiki] api_url", "does not end in /api.php", fix)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        fail("[wiki] api_url", "plain http would send the password unencrypted",
             "use https (http only for a wiki on this machine)")


def _check_smtp(smtp: SmtpConfig, fail: Any) -> None:
    if smtp.security == "plain" and smtp.host and not is_loopback(smtp.host):
        fail("[smtp] security", "plain (unencrypted) only reaches a server on this machine",
             'use "starttls" (port 587) or "tls" (port 465)')
    if smtp.from_:
        _, address = parseaddr(smtp.from_)
        if "@" not in address or any(c in smtp.from_ for c in "\r\n"):
            fail("[smtp] from", "not a mail address",
                 'e.g. from = "Answers <answers@example.org>"')
