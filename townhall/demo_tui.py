"""`townhall demo` with the moderator TUI: the scripted meeting plays while you triage it.

The wiring is `townhall run`'s (townhall/run.py), with townhall/demo.py's simulators and script
around it. The URLs of the host page and the overlay are printed before the TUI starts, shown as
a notification inside it, kept in the TUI (ctrl+u shows them again) and printed again with a
summary when it quits.
"""

from __future__ import annotations

import asyncio

from .demo import DemoOptions, DemoWorld, auto_moderate, play, summary
from .run import run_tui
from .runtime import Runtime

DEMO_NAME = "demo moderator"


async def run_demo(options: DemoOptions) -> int:
    async with DemoWorld(options) as world:
        config = world.config
        assert config is not None
        print(world.banner(), flush=True)
        async with Runtime(config) as runtime:
            tasks = [asyncio.create_task(play(world, options.speed))]
            if options.auto_moderate:
                tasks.append(asyncio.create_task(auto_moderate(runtime.queue, options.speed)))
            await run_tui(runtime, config, tasks=tasks, name=DEMO_NAME, urls=world.urls(),
                          notices=[world.banner() + "\nctrl+u shows these again."])
            print(world.banner().splitlines()[0])
            print(summary(runtime.queue), flush=True)
    if options.store:
        print(f"store kept at {options.store}")
    return 0


def main(options: DemoOptions) -> int:
    return asyncio.run(run_demo(options))
