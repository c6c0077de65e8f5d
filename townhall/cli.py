"""The `townhall` command: one subcommand per job (README.md, "Commands", lists them).

The commands that work on a finished meeting's store are in townhall/cli_store.py.

Exit status: 0 success, 1 a runtime failure (the message says what), 2 bad usage or bad config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aggregator.config import Config, ConfigError, check_config_file, load_config
from aggregator.config_report import section_report
from aggregator.export import FORMATS
from aggregator.store import StoreError

from .cli_common import EXIT_FAILURE, EXIT_USAGE, CliError, config_of, failing_as_cli
from .cli_store import (cmd_export, cmd_followup_send, cmd_import, cmd_publish,
                        cmd_zoom_import_qa)

__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "CliError", "build_parser", "main"]

def cmd_check_config(args: argparse.Namespace) -> int:
    """Every problem at once, the way `run` would see them: the file's errors (all of them, not
    the first), the TUI's key ids, then what each section still needs."""
    config, errors = check_config_file(getattr(args, "config", None))
    errors += _keymap_errors(config)
    for error in errors:
        print(f"townhall: {error}", file=sys.stderr)
    print(f"config: {config.source or 'none found (defaults: every collector off)'}")
    print(f"store:  {config.store_path}")
    worst = EXIT_USAGE if errors else 0
    for section, state, problems in section_report(config):
        print(f"[{section}] {state}")
        for problem in problems:
            print(f"    - {problem}")
        if state == "missing":
            worst = EXIT_USAGE
    if errors:
        print(f"{len(errors)} error{'s' if len(errors) > 1 else ''} in the config (above); "
              "`townhall run` would refuse to start")
    return worst


def _keymap_errors(config: Config) -> list[ConfigError]:
    """`[tui] keymap` checked by the TUI's own rule (its binding ids live in tui/keymap.py)."""
    if not config.tui.keymap:
        return []
    from tui.keymap import validate_keymap  # Textual only when there is a keymap to check

    errors: list[ConfigError] = []
    for binding_id, keys in config.tui.keymap.items():
        try:
            validate_keymap({binding_id: keys}, config.source)
        except ConfigError as exc:
            errors.append(exc)
    return errors


def cmd_tokens(args: argparse.Namespace) -> int:
    from .tokens import render_tokens

    config = config_of(args)
    with failing_as_cli(ValueError, status=EXIT_USAGE, prefix="--url: "):
        print(render_tokens(config, args.url), end="")
    return 0


def cmd_preflight(args: argparse.Namespace) -> int:
    import asyncio

    from aggregator.preflight import run_checks

    if args.timeout <= 0:
        raise CliError("--timeout must be more than 0 seconds", EXIT_USAGE)
    config = config_of(args)
    print(f"config: {config.source or 'none found (defaults: every collector off)'}",
          flush=True)
    results = asyncio.run(run_checks(config, args.timeout))
    for result in results:
        print(result.line())
    failed = sum(1 for result in results if not result.ok)
    print(f"{len(results) - failed} of {len(results)} checks passed")
    return EXIT_FAILURE if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from . import serve

    return serve.run(config_of(args))


def _configured_name() -> str:
    """`[tui] name` from the config found the usual way, or "" (connect needs no config)."""
    try:
        return (load_config(None).tui.name or "").strip()
    except Exception:  # noqa: BLE001 - a broken config is run's and check-config's to report
        return ""


def cmd_connect(args: argparse.Namespace) -> int:
    import os

    from aggregator.remote import websocket_url

    with failing_as_cli(ValueError, status=EXIT_USAGE, prefix="URL: "):
        url = websocket_url(args.url)
    token = args.token or os.environ.get("TOWNHALL_MODERATOR_TOKEN") or None
    _warn_plain_text_token(url, token)
    name = (args.name or "").strip() or _configured_name()
    if not name:
        raise CliError("connect needs your name: --name N (or [tui] name in the config); the "
                       "audit log, manual questions and undo go by it", EXIT_USAGE)
    from .connect import run_connect  # the TUI is imported only by the commands that show one

    return run_connect(url, token, name)


def cmd_host(args: argparse.Namespace) -> int:
    import os

    from aggregator.remote import websocket_url

    config = config_of(args)
    server = config.server
    if args.url:
        with failing_as_cli(ValueError, status=EXIT_USAGE, prefix="URL: "):
            url = websocket_url(args.url)
    else:  # the local server of this config
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
        url = websocket_url(f"{host if ':' not in host else f'[{host}]'}:{server.port}")
    token = (args.token or config.secret(server.host_token_env)
             or os.environ.get("TOWNHALL_HOST_TOKEN") or None)
    _warn_plain_text_token(url, token)
    from .connect import run_host

    return run_host(url, token, args.name, args.show_askers)


def _warn_plain_text_token(url: str, token: str | None) -> None:
    from urllib.parse import urlsplit

    from aggregator.server.auth import is_loopback

    parts = urlsplit(url)
    if token and parts.scheme == "ws" and not is_loopback(parts.hostname or ""):
        print("townhall: warning: ws:// sends the token unencrypted; put the server behind "
              "TLS (wss://) when it is reached over a network", file=sys.stderr)


def cmd_youtube_login(args: argparse.Namespace) -> int:
    from aggregator.youtube_login import TokenError, login

    config = config_of(args)
    with failing_as_cli(TokenError, ConnectionError):
        print(login(config, open_browser=not args.no_browser, port=args.port,
                    timeout_seconds=args.timeout))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .run import main as run_main  # Textual is loaded here, not for serve or export

    return int(run_main(config_of(args), args.name))


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import DemoOptions, run_headless

    if args.speed <= 0:
        raise CliError("--speed must be more than 0 (e.g. 10 plays ten times faster)", EXIT_USAGE)
    if args.seconds is not None and args.seconds <= 0:
        raise CliError("--seconds must be more than 0", EXIT_USAGE)
    if args.store is not None and args.store.exists():
        raise CliError(f"--store {args.store} already exists: give a new file, so the demo "
                       "never mixes into a real meeting's store", EXIT_USAGE)
    options = DemoOptions(speed=args.speed, seconds=args.seconds, store=args.store,
                          port=args.port, auto_moderate=args.auto_moderate or args.headless)
    if args.headless:
        import asyncio

        return asyncio.run(run_headless(options))
    from .demo_tui import main as demo_main

    return int(demo_main(options))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="townhall",
        description="Gather a live meeting's questions from YouTube live chat, Zoom and email "
                    "into one queue that moderators triage from the keyboard.",
        epilog="Config lookup: --config, $TOWNHALL_CONFIG, ./townhall.toml, then the user config "
               "directory. See config.example.toml.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def store_option(p: argparse.ArgumentParser) -> None:
        """`--store FILE`: one store per meeting, for every command that opens one."""
        p.add_argument("--store", type=Path, metavar="FILE",
                       help="this meeting's store (one store per meeting, e.g. "
                            "meeting-2022-11-10.db); default: [store] path")

    def add(name: str, help_text: str, handler: Callable[[argparse.Namespace], int],
            config: bool = True, store: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config:
            p.add_argument("--config", metavar="FILE", help="the TOML config file")
        if store:
            store_option(p)
        p.set_defaults(handler=handler)
        return p

    p = add("run", "store, server, collectors and the moderator TUI in one process (keys: "
            "press ? in the app; ctrl+q quits)", cmd_run, store=True)
    p.add_argument("--name", help="your name in the audit log and on manual questions "
                   "(default: [tui] name)")
    p = add("serve", "store, server and collectors without a TUI (a shared machine); remote "
            "moderators, the host and the overlay connect to it", cmd_serve,
            store=True)
    p = add("connect", "the moderator TUI against a remote Townhall server", cmd_connect,
            config=False)
    p.add_argument("url", metavar="URL", help="e.g. ws://host:8765/ws")
    p.add_argument("--token", help="the moderator token (default: $TOWNHALL_MODERATOR_TOKEN)")
    p.add_argument("--name", help="your name, recorded in the audit log")
    p = add("host", "the host's reading view in the terminal (n or space: next question)",
            cmd_host)
    p.add_argument("url", metavar="URL", nargs="?",
                   help="e.g. ws://host:8765/ws (default: the server of this config, "
                        "[server] host and port)")
    p.add_argument("--token", help="the host token (default: the variable [server] "
                                   "host_token_env names, $TOWNHALL_HOST_TOKEN)")
    p.add_argument("--name", default="host", help="recorded in the audit log (default: host)")
    p.add_argument("--show-askers", action="store_true",
                   help="list everyone who asked the live question (merged duplicates)")
    p = add("export", "write the questions as json, csv, markdown, wikitext, a follow-up list "
            "or YouTube chapters", cmd_export, store=True)
    p.epilog = ("json: everything with history (`townhall import` reads it back); csv: one row "
                "per question, safe to open in a spreadsheet; markdown / wikitext: the notes "
                "page; followup: the questions to answer in writing with their askers' "
                "contacts; chapters: the answered questions as YouTube chapters for the "
                "video's description (refused, with the reason, when YouTube would not show "
                "them). Works while a server runs. With -o, prints a summary.")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--status", metavar="S,...", help="only these statuses, e.g. answered,follow_up")
    p.add_argument("--include-askers", action="store_true",
                   help="name the askers in notes pages (off unless [export] include_askers)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--group-by", choices=["topic"],
                   help="notes pages: the questions under their first tag")
    p = add("publish", "put the wikitext notes page on the wiki ([wiki] page) through the "
            "MediaWiki API", cmd_publish, store=True)
    p.epilog = ("Logs in with a bot password ([wiki] username, the variable [wiki] password_env "
                "names). Unchanged notes make no edit; a page someone edited since the last "
                "publish is refused (see it with --dry-run, replace it with --force). Reads the "
                "store only, so it works while a server runs.")
    p.add_argument("--dry-run", action="store_true",
                   help="print the page and its diff against the wiki, change nothing")
    p.add_argument("--force", action="store_true",
                   help="replace the page even though someone else edited it since")
    followup = sub.add_parser("followup", help="the questions answered in writing after the call",
                              description="the questions answered in writing after the call")
    followup_sub = followup.add_subparsers(dest="followup_command", metavar="COMMAND",
                                           required=True)
    p = followup_sub.add_parser(
        "send", help="mail each email asker the written answer (note) of their follow-up "
        "question; without --send, print the drafts",
        description="mail each email asker the written answer (note) of their follow-up "
        "question; without --send, print the drafts")
    p.add_argument("--config", metavar="FILE", help="the TOML config file")
    store_option(p)
    p.set_defaults(handler=cmd_followup_send)
    p.epilog = ("Sends over [smtp] as a reply to the asker's mail, records each mail in the "
                "question's history and never sends an answer twice. Stop `townhall run`/"
                "`serve` on the same store first.")
    p.add_argument("--send", action="store_true", help="send the mails (default: print drafts)")
    p.add_argument("--resend", type=int, action="append", metavar="N",
                   help="with --send: send question N's mail again where a crashed run may "
                        "or may not have sent it (repeatable)")
    p = add("import", "load a JSON export (townhall export --format json) into an empty store",
            cmd_import, store=True)
    p.add_argument("file", metavar="FILE.json", help="a file written by `townhall export "
                   "--format json`; the store ([store] path) must hold no questions yet")
    p = add("demo", "everything local, with simulated YouTube, Zoom and email traffic",
            cmd_demo, config=False)
    p.epilog = ("The real collectors run against local simulators: a fake YouTube API polled "
                "through the real Google client, signed Zoom webhooks posted to the real "
                "endpoint, and mail written into a Maildir. No account is needed. The host page "
                "and overlay URLs (with generated tokens) are printed at the start.")
    p.add_argument("--speed", type=float, default=1.0,
                   help="play the ~10-minute scripted meeting this many times faster (default 1)")
    p.add_argument("--headless", action="store_true",
                   help="no TUI: play, print a summary, exit (for scripts and CI); implies "
                        "--auto-moderate")
    p.add_argument("--seconds", type=float, metavar="N",
                   help="with --headless: stop after N seconds (default: the whole script)")
    p.add_argument("--store", type=Path, metavar="FILE",
                   help="keep the store in this new file (default: a temporary file)")
    p.add_argument("--port", type=int, help="server port (default 8765, or any free port)")
    p.add_argument("--auto-moderate", action="store_true",
                   help="a scripted moderator approves likely questions, merges duplicates "
                        "and says next, so the host page and overlay move by themselves")
    add("check-config", "validate the config and say what each source is missing",
        cmd_check_config)
    p = add("preflight", "test every configured source and service for real, one line each; "
            "exit 0 only if all pass", cmd_preflight, store=True)
    p.epilog = ("Before the call: IMAP login, mailbox and the mails matching the subject rules "
                "since [email] since (or the Maildir); the YouTube key or OAuth token, the "
                "video, its live state, chat id and the units left today; Zoom's OAuth token "
                "and websocket subscription, or the webhook secret and [zoom] public_url "
                "answering /healthz from outside; wiki and SMTP logins when configured; role "
                "tokens when the server is not on loopback. Nothing is written or sent.")
    p.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                   help="give each check this long (default 15)")
    p = add("tokens", "generate the three role tokens; print `export NAME=...` lines and the "
            "page URLs", cmd_tokens)
    p.epilog = ("The variable names are the config's [server] *_token_env keys. Every line that "
                "is not an export starts with #, so `eval \"$(townhall tokens)\"` sets them in "
                "this shell. The URLs carry their token after #, which browsers never send to "
                "the server. Each run makes new tokens: restart the server after exporting them.")
    p.add_argument("--url", metavar="URL",
                   help="where people reach the server, e.g. https://townhall.example.org behind "
                        "a TLS proxy or tunnel (default: http://[server] host:port)")
    p = add("youtube-login", "OAuth consent for YouTube; the token is saved to a file",
            cmd_youtube_login)
    p.epilog = ("Needs [youtube] client_secrets_file (an OAuth client of type Desktop app) and "
                "[youtube] oauth_token_file (written owner-only). A valid token is refreshed "
                "instead of asking again. Only needed to find your own active broadcast without "
                "naming the video, or for chats an API key cannot read.")
    p.add_argument("--no-browser", action="store_true",
                   help="print the consent URL instead of opening a browser")
    p.add_argument("--port", type=int, default=0,
                   help="local port for Google's redirect (default: any free port)")
    p.add_argument("--timeout", type=int, default=300, metavar="SECONDS",
                   help="give up waiting for consent after this long (default 300)")
    p = add("zoom-import-qa", "import a finished webinar's Q&A report", cmd_zoom_import_qa,
            store=True)
    p.epilog = ("Zoom has no live event for its Q&A panel: after the call, this fetches "
                "GET /report/webinars/ID/qa (or /report/meetings/ID/qa; where the report is "
                "unavailable, /past_webinars/ID/qa or /past_meetings/ID/qa) with the [zoom] "
                "Server-to-Server OAuth app and adds each question as source zoom_qa: answered "
                "(answer in the note) where Zoom has an answer, new otherwise. Running it again "
                "adds nothing twice. Stop `townhall run`/`serve` on the same database first.")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--webinar", metavar="ID", help="the webinar id (or an instance UUID)")
    group.add_argument("--meeting", metavar="ID", help="the meeting id (or an instance UUID)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _dispatch(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
    except BrokenPipeError:
        # `townhall ... | head`: the reader has what it wanted. Point stdout at /dev/null so
        # the interpreter's own flush at exit does not raise (and print a traceback) again.
        _silence_stdout()
        return EXIT_FAILURE


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return exc.status
    except StoreError as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (e.g. replaced in tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
