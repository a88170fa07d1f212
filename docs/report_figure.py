"""Rebuild docs/images/report.png, the top of the report `make demo` writes, rendered in headless Chromium
(run from the repository root after `make demo`; needs Debian's chromium and playwright, as `make test` has)."""

import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

REPORT = Path("runs/demo/report.html")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1620})
        page.goto(REPORT.resolve().as_uri())
        shot = page.screenshot()
        browser.close()
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    image.resize((960, 1215), Image.LANCZOS).save("docs/images/report.png", optimize=True)


if __name__ == "__main__":
    main()
