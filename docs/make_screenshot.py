"""Regenerate docs/moderator.svg, the README's screenshot of the moderator view.

    python docs/make_screenshot.py

Plays the demo meeting for a few seconds through the real collectors and simulators (as
`townhall demo` does), then opens the real moderator app headless and exports what it shows.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.aio import cancel_and_wait  # noqa: E402
from aggregator.client import LocalClient  # noqa: E402
from townhall.demo import DemoOptions, DemoWorld, auto_moderate, play  # noqa: E402
from townhall.runtime import Runtime  # noqa: E402
from tui.app import build_moderator_app  # noqa: E402

SPEED = 12.0
PLAY_SECONDS = 14.0


async def main() -> None:
    options = DemoOptions(speed=SPEED, auto_moderate=True, port=None)
    async with DemoWorld(options) as world:
        assert world.config is not None
        async with Runtime(world.config) as runtime:
            tasks = [asyncio.create_task(play(world, SPEED)),
                     asyncio.create_task(auto_moderate(runtime.queue, SPEED / 4))]
            await asyncio.sleep(PLAY_SECONDS)
            await cancel_and_wait(tasks)
            client = LocalClient(runtime.queue, runtime.health, actor="ana",
                                 config=world.config)
            app = build_moderator_app(client, meeting_title=world.config.meeting.title,
                                      answerers=list(world.config.meeting.answerers))
            async with app.run_test(size=(150, 42)) as pilot:
                await pilot.pause(1.0)
                await pilot.press("down", "down")
                await pilot.pause(0.5)
                svg = app.export_screenshot(title="Townhall: moderator view")
            await client.close()
    target = ROOT / "docs" / "moderator.svg"
    target.write_text(svg, encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(main())
