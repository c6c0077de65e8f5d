"""aggregator/ never loads textual or rich, and neither do the headless parts of the application
(`townhall serve`, `townhall demo --headless`, the CLI before a TUI command runs), checked in
fresh interpreters."""

import pkgutil
import subprocess
import sys

import pytest

import aggregator
import townhall.simulators

MODULES = sorted(m.name for m in pkgutil.walk_packages(aggregator.__path__, "aggregator.")
                 if not m.name.endswith("__main__"))
#: the application modules that must run without a terminal UI (townhall/run.py, connect.py and
#: demo_tui.py are the ones that load it, and only the commands that show a TUI import them)
HEADLESS = ["townhall", "townhall.cli", "townhall.serve", "townhall.runtime", "townhall.demo",
            "townhall.demo_script", "townhall.simulators",
            *sorted(m.name for m in pkgutil.walk_packages(townhall.simulators.__path__,
                                                          "townhall.simulators."))]
FORBIDDEN = ("textual", "rich")


@pytest.mark.parametrize("module", ["aggregator", *MODULES, *HEADLESS])
def test_core_module_does_not_load_the_ui(module: str) -> None:
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    leaked = [m for m in proc.stdout.strip().split(",") if m]
    assert not leaked, f"{module} imported {leaked}"


def test_the_check_sees_every_core_module() -> None:
    assert "aggregator.store" in MODULES and "aggregator.queue" in MODULES
    assert "townhall.simulators.youtube_api" in HEADLESS


def test_the_tui_commands_do_load_the_ui() -> None:
    """The check above can fail: the modules that wire a TUI into a process do load Textual."""
    code = ("import importlib, sys; importlib.import_module('townhall.run'); "
            "print('textual' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "True"
