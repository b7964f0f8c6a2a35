"""A real browser for the dashboard tests: Playwright's Python API driving Debian's Chromium
(``/usr/bin/chromium``; ``.ci/run`` installs it). Playwright's own browser download is never
used. Screenshots go to ``MOESIM_SCREENSHOT_DIR`` (``docs/dashboard`` refreshes the README's),
else to the test's temporary directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("MOESIM_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
START = "2026-01-01T09:00:00Z"


def chromium_path() -> str:
    found = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not found:
        raise RuntimeError("Chromium is not installed: apt-get install -y chromium "
                           "(.ci/run does it)")
    return found


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=ARGS,
                                      headless=True)


class ConsoleWatch:
    """Every console error and uncaught page error of a page."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


def screenshot_dir(tmp_path: Path) -> Path:
    where = Path(os.environ.get("MOESIM_SCREENSHOT_DIR") or tmp_path / "screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where
