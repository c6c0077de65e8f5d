"""aggregator/ never loads textual or rich (the headless `serve` must not pay for a UI it does
not draw), checked in fresh interpreters."""

import pkgutil
import subprocess
import sys

import pytest

import aggregator

MODULES = sorted(m.name for m in pkgutil.walk_packages(aggregator.__path__, "aggregator.")
                 if not m.name.endswith("__main__"))
FORBIDDEN = ("textual", "rich")


@pytest.mark.parametrize("module", ["aggregator", *MODULES])
def test_core_module_does_not_load_the_ui(module: str) -> None:
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    leaked = [m for m in proc.stdout.strip().split(",") if m]
    assert not leaked, f"{module} imported {leaked}"


def test_the_check_sees_every_core_module() -> None:
    assert "aggregator.store" in MODULES and "aggregator.queue" in MODULES
