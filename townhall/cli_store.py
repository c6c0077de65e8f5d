"""The `townhall` subcommands that read or fill one meeting's store outside the live call:
export, publish, followup send, import, zoom-import-qa (their options: townhall/cli.py).

Apart from the live commands because they share nothing with them but the config: each opens
the store itself (shared for reading, exclusive for filling) and ends with a summary line.
"""

from __future__ import annotations

import argparse
import sys

from aggregator.model import Status

from .cli_common import EXIT_USAGE, CliError, config_of, failing_as_cli, store_for_reading


def parse_statuses(raw: str | None) -> list[str] | None:
    """`--status a,b`: the statuses named, each one Townhall knows."""
    if not raw:
        return None
    statuses = [s.strip() for s in raw.split(",") if s.strip()]
    known = {s.value for s in Status}
    bad = [s for s in statuses if s not in known]
    if bad:
        raise CliError(f"--status: unknown status {', '.join(bad)}; use {', '.join(sorted(known))}",
                       EXIT_USAGE)
    return statuses


def cmd_export(args: argparse.Namespace) -> int:
    from aggregator import export

    config = config_of(args)
    statuses = parse_statuses(args.status)
    with store_for_reading(config) as store, failing_as_cli(export.ExportError):
        if args.output:
            print(export.export_to_file(store, config, args.format, args.output,
                                        statuses=statuses, include_askers=args.include_askers,
                                        group_by=args.group_by))
        else:
            chunks, _ = export.render_chunks(store, config, args.format, statuses=statuses,
                                             include_askers=args.include_askers,
                                             group_by=args.group_by)
            sys.stdout.buffer.writelines(chunks)
            sys.stdout.buffer.flush()
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from aggregator import export
    from aggregator.publish import PublishError, publish

    config = config_of(args)
    with store_for_reading(config) as store:
        text = export.render(store, config, "wikitext")[0].decode("utf-8")
    with failing_as_cli(PublishError):
        outcome = publish(config, text, dry_run=args.dry_run, force=args.force, out=sys.stdout)
    if outcome.action == "conflict":
        raise CliError(outcome.message)
    print(outcome.message, file=sys.stderr if args.dry_run else sys.stdout)
    return 0


def cmd_followup_send(args: argparse.Namespace) -> int:
    from aggregator.followup_mail import MailError, run_followup

    config = config_of(args)
    with failing_as_cli(MailError):
        return run_followup(config, send=args.send, resend=args.resend or [], out=sys.stdout)


def cmd_import(args: argparse.Namespace) -> int:
    from aggregator.importer import ImportFailed, import_file
    from aggregator.store import Store

    config = config_of(args)
    # the exclusive lock: never import under a running server
    with Store(config.store_path) as store, failing_as_cli(ImportFailed):
        print(import_file(store, args.file,
                          progress=lambda msg: print(msg + " ...", file=sys.stderr)))
    return 0


def cmd_zoom_import_qa(args: argparse.Namespace) -> int:
    from aggregator.zoom_qa import QaImportError, run_import

    config = config_of(args)
    kind, ident = ("webinar", args.webinar) if args.webinar else ("meeting", args.meeting)
    with failing_as_cli(QaImportError):
        print(run_import(config, kind, ident))
    return 0
