"""Headless Chromium for the viewer and report tests: Playwright driving Debian's chromium.

    async with chromium() as browser:
        page = await new_page(browser, theme="dark", width=380)

Playwright's own browser download is not used (scripts/ci_chromium.sh installs /usr/bin/chromium;
never `playwright install`). Without a browser the tests skip, except under CI, where they fail.
Screenshots go to test-artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.paths import REPO

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("AGENTS_MCP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"wide": 1100, "narrow": 380}
THEMES = ("light", "dark")


def require_browser() -> None:
    """Skip (fail under CI) when Chromium or Playwright is missing."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (bash scripts/ci_chromium.sh)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class PageLog:
    """What a page did that a test may forbid: console errors, page errors, network requests."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []


async def new_page(browser: Browser, *, theme: str, width: int) -> tuple[Page, PageLog]:
    page = await browser.new_page(viewport={"width": width, "height": 800}, color_scheme=theme)
    log = PageLog()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    page.on("request", lambda r: log.requests.append(r.url))

    async def dismiss(dialog: Any) -> None:
        log.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return page, log


async def screenshot(page: Page, folder: str, name: str) -> Path:
    """The whole page. The window is grown to the page's height first: a full-page capture
    leaves a sandboxed (out-of-process) iframe unpainted below the first screen."""
    path = ARTIFACTS / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1100, "height": 800}
    height = await page.evaluate("document.documentElement.scrollHeight")
    await page.set_viewport_size({"width": size["width"], "height": max(height, 200)})
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 100)))")
    await page.screenshot(path=str(path))
    await page.set_viewport_size(size)
    return path


def keep_image(source: Path, name: str) -> None:
    """Refresh docs/images/NAME when asked (AGENTS_MCP_UPDATE_IMAGES=1): README pictures."""
    if os.environ.get("AGENTS_MCP_UPDATE_IMAGES") == "1":
        target = REPO / "docs" / "images" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def luminance(css_color: str) -> float:
    """0 (black) .. 1 (white) for an 'rgb(r, g, b)' / 'rgba(...)' computed colour."""
    inside = css_color[css_color.index("(") + 1 : css_color.index(")")]
    r, g, b = (float(part) for part in inside.replace("/", ",").split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
