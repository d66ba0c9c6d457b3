"""Full-page screenshots of every page at 1280 px and 375 px, for people to look at.

Saved to ``screenshots/`` at the top of the repository (git-ignored) as ``<page>-<width>.png``:
signed in as ``treasury`` (a viewer of every department), the Model lab and Data pages as ``admin``.
Each shot also checks the page rendered (its heading, and its charts drawn).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

FOLDER = Path(__file__).resolve().parents[1] / "screenshots"
#: (file name, user, path, heading, charts)
SHOTS = [
    ("login", None, "/login", "Sign in", 0),
    ("summary", "treasury", "/", "Summary", 0),
    ("trends", "treasury", "/trends?metric=uc_caseload&compare=E12000001,E12000002,E12000007", "Trends", 2),
    ("explain", "treasury", "/explain?metric=uc_caseload", "Explain a change", 2),
    ("explain-formula", "treasury", "/explain?metric=ae_4h_pct&from=2025-09&to=2026-09", "Explain a change", 2),
    ("metrics", "treasury", "/metrics", "Metrics", 0),
    ("metric-detail", "treasury", "/metrics?metric=uc_caseload", "Households on Universal Credit", 0),
    ("not-found", "treasury", "/no-such-page", "Page not found", 0),
    ("model-lab", "admin", "/model-lab?metric=uc_caseload", "Model lab", 4),
    ("data", "admin", "/data?source=ho-asylum-monthly", "Data", 0),
]


@pytest.mark.parametrize("width", bs.WIDTHS)
def test_screenshots_of_every_page(open_browser, width):
    FOLDER.mkdir(exist_ok=True)
    saved = []
    for name, user, path, heading, charts in SHOTS:
        page = open_browser(user, width=width, height=900)
        if user is None:
            page.goto(path, wait_until="networkidle")
        else:
            bs.open_page(page, path)
        assert page.inner_text("h1") == heading, path
        drawn = page.locator(".js-plotly-plot .main-svg").count()
        assert drawn >= charts, f"{path}: {drawn} chart(s) drawn, expected {charts}"
        target = FOLDER / bs.screenshot_name(name, width)
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
        saved.append(target.name)
        page.close()
    print(f"\nscreenshots in {FOLDER}: {', '.join(saved)}")
