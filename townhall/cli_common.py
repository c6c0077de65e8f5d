"""What every `townhall` subcommand shares: exit statuses, the error that carries one, the
config with `--store` applied, and the translation of a library failure into that error.

Its own module so that the subcommands can live in more than one module (townhall/cli.py,
townhall/cli_store.py) without importing each other.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.config import Config, load_config

if TYPE_CHECKING:
    from aggregator.store import Store

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliError(Exception):
    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def config_of(args: argparse.Namespace) -> Config:
    """The config, with `--store FILE` (one store per meeting) in place of `[store] path`."""
    config = load_config(getattr(args, "config", None))
    store = getattr(args, "store", None)
    if store is not None:
        config.store.path = str(Path(store).expanduser().resolve())
    return config


@contextmanager
def failing_as_cli(*errors: type[Exception], status: int = EXIT_FAILURE,
                   prefix: str = "") -> Iterator[None]:
    """A library failure the user can act on becomes a CliError: its message and an exit
    status, never a traceback."""
    try:
        yield
    except errors as exc:
        raise CliError(f"{prefix}{exc}", status) from None


def store_for_reading(config: Config) -> Store:
    """The meeting's store, to open with `with`: shared, so a running server keeps its lock."""
    from aggregator.store import Store

    path = config.store_path
    if not path.exists():
        raise CliError(f"no database at {path} (set [store] path, or run `townhall run` first)")
    return Store(path, exclusive=False)
