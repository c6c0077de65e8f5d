"""The `townhall` command (design.md section 8).

Exit status: 0 success, 1 a runtime failure (the message says what), 2 bad usage or bad config.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import Config, ConfigError, load_config, section_report
from .export import FORMATS
from .model import Status
from .store import StoreError

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliError(Exception):
    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def _config(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None))


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _config(args)
    print(f"config: {config.source or 'none found (defaults: every collector off)'}")
    print(f"store:  {config.store_path}")
    worst = 0
    for section, state, problems in section_report(config):
        print(f"[{section}] {state}")
        for problem in problems:
            print(f"    - {problem}")
        if state == "missing":
            worst = EXIT_USAGE
    return worst


def _parse_statuses(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    statuses = [s.strip() for s in raw.split(",") if s.strip()]
    known = {s.value for s in Status}
    bad = [s for s in statuses if s not in known]
    if bad:
        raise CliError(f"--status: unknown status {', '.join(bad)}; use {', '.join(sorted(known))}",
                       EXIT_USAGE)
    return statuses


def _open_for_reading(config: Config):
    from .store import Store

    path = config.store_path
    if not path.exists():
        raise CliError(f"no database at {path} (set [store] path, or run `townhall run` first)")
    return Store(path, exclusive=False).open()


def cmd_export(args: argparse.Namespace) -> int:
    from . import export

    config = _config(args)
    statuses = _parse_statuses(args.status)
    if args.format != "json":
        raise CliError(f"--format {args.format} is not available yet", EXIT_USAGE)
    store = _open_for_reading(config)
    try:
        data = export.to_json(store, config, statuses)
    finally:
        store.close()
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    # aggregator/ never imports tui/ (import-linter contract): the TUI is loaded by name, here
    # only, so `serve`, `export` and the collectors run on a machine without Textual.
    runner = importlib.import_module("tui.run")
    return int(runner.main(config))


def not_available(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise CliError(f"`townhall {name}` is not available yet", EXIT_USAGE)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="townhall",
        description="Gather a live meeting's questions from YouTube live chat, Zoom and email "
                    "into one queue that moderators triage from the keyboard.",
        epilog="Config lookup: --config, $TOWNHALL_CONFIG, ./townhall.toml, then the user config "
               "directory. See config.example.toml.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, handler: Callable[[argparse.Namespace], int],
            config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config:
            p.add_argument("--config", metavar="FILE", help="the TOML config file")
        p.set_defaults(handler=handler)
        return p

    add("run", "store, server, collectors and the moderator TUI in one process (keys: press ? "
        "in the app; ctrl+q quits)", cmd_run)
    add("serve", "store, server and collectors without a TUI (a shared machine)",
        not_available("serve"))
    p = add("connect", "the moderator TUI against a remote Townhall server",
            not_available("connect"), config=False)
    p.add_argument("url", metavar="URL", help="e.g. ws://host:8765/ws")
    p.add_argument("--token", help="the moderator token (default: $TOWNHALL_MODERATOR_TOKEN)")
    p.add_argument("--name", help="your name, recorded in the audit log")
    p = add("host", "the host's reading view in the terminal", not_available("host"),
            config=False)
    p.add_argument("url", metavar="URL", nargs="?", help="default: the local server")
    p.add_argument("--token", help="the host token (default: $TOWNHALL_HOST_TOKEN)")
    p = add("export", "write the questions as json, csv, markdown, wikitext or a follow-up list",
            cmd_export)
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--status", metavar="S,...", help="only these statuses, e.g. answered,follow_up")
    p.add_argument("--include-askers", action="store_true",
                   help="name the askers in notes pages (off unless [export] include_askers)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p = add("import", "load a JSON export into an empty store", not_available("import"))
    p.add_argument("file", metavar="FILE.json")
    add("demo", "everything local, with simulated YouTube, Zoom and email traffic",
        not_available("demo"), config=False)
    add("check-config", "validate the config and say what each source is missing",
        cmd_check_config)
    add("youtube-login", "OAuth consent for YouTube; the token is saved to a file",
        not_available("youtube-login"))
    p = add("zoom-import-qa", "import a finished webinar's Q&A report", not_available("zoom-import-qa"))
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--webinar", metavar="ID")
    group.add_argument("--meeting", metavar="ID")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
