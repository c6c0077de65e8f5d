"""`python -m bench`: run every benchmark module in bench/ in turn (`make bench`)."""

import importlib
import pkgutil
import sys
from pathlib import Path

names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent))
               if not m.name.startswith("_"))
for name in names:
    print(f"== bench.{name}", flush=True)
    module = importlib.import_module(f"bench.{name}")
    sys.argv = [f"bench.{name}"]
    module.main()
