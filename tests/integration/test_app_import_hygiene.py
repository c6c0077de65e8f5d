"""The headless parts of the application never load textual or rich either: `townhall serve`,
`townhall demo --headless` and the CLI until a command that shows a TUI runs. Checked in fresh
interpreters, as tests/integration/test_import_hygiene.py checks aggregator/."""

import pkgutil
import subprocess
import sys

import pytest

import townhall.simulators

#: townhall/run.py, connect.py and demo_tui.py load the TUI; only the commands that show one
#: import them
HEADLESS = ["townhall", "townhall.cli", "townhall.serve", "townhall.runtime", "townhall.demo",
            "townhall.demo_script", "townhall.simulators",
            *sorted(m.name for m in pkgutil.walk_packages(townhall.simulators.__path__,
                                                          "townhall.simulators."))]
FORBIDDEN = ("textual", "rich")


def loaded_after_import(module: str) -> list[str]:
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in proc.stdout.strip().split(",") if m]


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_module_does_not_load_the_ui(module: str) -> None:
    assert not loaded_after_import(module), f"{module} loads the terminal UI"


def test_the_check_sees_the_simulators() -> None:
    assert "townhall.simulators.youtube_api" in HEADLESS


def test_the_tui_commands_do_load_the_ui() -> None:
    """The check above can fail: the module that wires the TUI into `townhall run` loads it."""
    assert "textual" in loaded_after_import("townhall.run")
