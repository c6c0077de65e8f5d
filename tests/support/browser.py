"""Headless Chromium for the page tests: the Debian `chromium` driven by Playwright's API.

Never `playwright install`: the system Chromium is used through `executable_path`, so a test
module that needs it is skipped (`needs_chromium`) where the package is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="needs the Debian chromium package (.ci/run installs it)")


@asynccontextmanager
async def chromium(*extra_args: str) -> AsyncIterator[Browser]:
    """A headless browser with the common switches plus `extra_args`, closed on exit."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args],
                                          headless=True)
        try:
            yield browser
        finally:
            await browser.close()
