"""The HTML report in a real browser (headless Chromium through Playwright).

Opens the sample report from a file:// URL and checks that it renders without console or page errors,
fetches nothing but itself, shows every probe section and the four scorecard cards, and fits a phone
screen. Saves ``test-artifacts/report.png`` (full page) and ``test-artifacts/report.html``.
Chromium is required: CI installs it (scripts/setup.sh), so a missing browser fails this test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trustmap.report import write_report

from .sample import sample_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _sync_playwright():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with `apt-get install chromium` "
            "(scripts/setup.sh does) to run the HTML-report browser test",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[dev]'", pytrace=False)
    return sync_playwright


def test_html_report_renders_in_chromium(tmp_path):
    sync_playwright = _sync_playwright()
    report = sample_report()
    html_path, _ = write_report(report, tmp_path)
    url = html_path.as_uri()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load", timeout=60_000)

            assert page.title() == "Trust report: cnn-s on fashion-mnist"
            for p in report.probes:
                section = page.locator(f"section#probe-{p.probe}.probe")
                assert section.count() == 1, p.probe
                assert section.is_visible(), f"section #probe-{p.probe} is not visible"
                assert p.title in section.inner_text()
            assert "RMIA needs reference data" in page.locator("#probe-mia-rmia").inner_text()

            cards = page.locator("#scorecard .grade-card")
            assert cards.count() == 4
            dims = [cards.nth(i).get_attribute("data-dimension") for i in range(4)]
            assert dims == ["privacy", "security", "fairness", "robustness"]
            for i in range(4):
                assert cards.nth(i).is_visible()
            assert [cards.nth(i).locator(".grade-letter").inner_text() for i in range(4)] == ["C", "D", "C", "F"]

            charts = page.locator("svg.chart")
            assert charts.count() == 6
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box and box["width"] > 250 and box["height"] > 150, box
            assert page.locator("#weaknesses li.weakness").count() == len(report.weaknesses)

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            shutil.copyfile(html_path, ARTIFACTS / "report.html")

            # a phone screen: nothing wider than the viewport
            page.set_viewport_size({"width": 390, "height": 844})
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page is {overflow}px wider than a 390px screen"

            # print: the table of contents goes, the content stays
            page.emulate_media(media="print")
            assert not page.locator("nav.toc").is_visible()
            assert page.locator("#probe-pgd-linf").is_visible() and cards.nth(0).is_visible()

            assert errors == [], errors
            assert requests == [url], f"the report fetched something besides itself: {requests}"
        finally:
            browser.close()
