"""Accessibility gates in a real browser (WCAG 2.2 AA; the UI expectations in docs/ui.md).

Every page at 1280 px and 375 px, the app in production mode (gunicorn, not debug):

* axe-core with the tags wcag2a, wcag2aa, wcag21a, wcag21aa, wcag22aa finds no violation, on the
  page as shown and again with every chart card's Table, Download and About views revealed;
* our own check, as axe passes unlabelled Plotly charts: every chart sits in a ``figure`` with a
  ``figcaption``, inside a ``role="img"`` element named by that caption (``aria-labelledby``), and its
  chart card has a Table view whose ``<table>`` has a caption and ``th`` headers with a scope;
* no horizontal scrolling (the page is no wider than the window), views revealed or not, and no
  chart drawn over its caption or beyond its card;
* the same with the controls a page folds under a ``<details>`` unfolded.

(The palette's contrast is unit-tested without a browser.)
"""
from __future__ import annotations

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

#: (name, user (None: signed out), path, charts the page must show at least)
PAGES = [
    ("login", None, "/login", 0),
    ("summary", "treasury", "/", 0),
    ("trends-compare", "treasury", "/trends?metric=uc_caseload&compare=E12000001,E12000002,E12000007", 2),
    ("explain-drivers-segments", "treasury", "/explain?metric=uc_caseload", 2),
    ("explain-components-mix-rate", "treasury", "/explain?metric=ae_4h_pct&from=2025-09&to=2026-09", 2),
    ("explain-against-forecast", "treasury", "/explain?metric=uc_spend&vs=forecast", 2),
    ("explain-real-terms", "treasury", "/explain?metric=uc_spend&measure=real&from=2025-09&to=2026-09", 2),
    ("explain-revision", "treasury", "/explain?metric=uc_caseload&vs=first", 1),
    ("explain-cross", "treasury", "/explain?metric=ae_4h_pct&from=2025-09&to=2026-09&cross=1", 2),
    ("trends-revisions", "treasury", "/trends?metric=uc_caseload", 2),
    ("model-lab", "admin", "/model-lab?metric=uc_caseload", 4),
    ("data", "admin", "/data?source=ho-asylum-monthly", 0),
    ("metrics", "treasury", "/metrics", 0),
    ("metric-detail", "treasury", "/metrics?metric=uc_caseload", 0),
    ("not-found", "treasury", "/no-such-page", 0),
]

#: each chart and the accessible structure around it
CHARTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => {
    const graph = plot.closest('[id]');
    const figure = plot.closest('figure');
    const caption = figure ? figure.querySelector(':scope > figcaption') : null;
    const img = plot.closest('[role="img"]');
    const card = plot.closest('.chart-card');
    const tabPanel = card ? card.querySelector('[role="tabpanel"][data-view="table"]') : null;
    const tab = tabPanel ? card.querySelector(`[role="tab"][aria-controls="${tabPanel.id}"]`) : null;
    const table = tabPanel ? tabPanel.querySelector('table') : null;
    const heads = table ? Array.from(table.querySelectorAll('th')) : [];
    const svg = plot.querySelector('.main-svg');
    const drawn = svg ? svg.getBoundingClientRect() : null;
    return {
        // the chart fits in its box: nothing drawn under the caption, nothing cut off at the sides
        overlapsCaption: !!(drawn && caption && caption.getBoundingClientRect().top < drawn.bottom - 1),
        widerThanCard: !!(drawn && card && drawn.right > card.getBoundingClientRect().right + 1),
        graph: graph ? graph.id : plot.outerHTML.slice(0, 80),
        figure: !!figure,
        caption: caption ? caption.textContent.trim() : '',
        imgInFigure: !!(img && figure && figure.contains(img)),
        labelledBy: img ? img.getAttribute('aria-labelledby') : null,
        captionId: caption ? caption.id : null,
        tableTab: tab ? tab.textContent.trim() : null,
        tableCaption: table && table.caption ? table.caption.textContent.trim() : '',
        columnHeaders: heads.filter(th => th.getAttribute('scope') === 'col').length,
        headersWithoutScope: heads.filter(th => !['col', 'row', 'colgroup', 'rowgroup']
                                                 .includes(th.getAttribute('scope'))).length,
        rows: table ? table.tBodies[0].rows.length : 0,
    };
})"""
REVEAL_VIEWS = """() => document.querySelectorAll('.card-panel[hidden]')
                                .forEach(panel => panel.removeAttribute('hidden'))"""
WIDTH = "() => ({scroll: document.scrollingElement.scrollWidth, window: window.innerWidth})"


def load(open_browser, user, path, width):
    page = open_browser(user, width=width, height=900)
    if user is None:
        page.goto(path, wait_until="networkidle")
    else:
        bs.open_page(page, path)
    return page


def assert_no_violations(page, what: str) -> None:
    violations = bs.run_axe(page)
    assert not violations, f"axe found {len(violations)} violation(s) on {what}:\n{bs.axe_report(violations)}"


def assert_no_sideways_scroll(page, what: str) -> None:
    size = page.evaluate(WIDTH)
    assert size["scroll"] <= size["window"] + 1, f"{what} scrolls sideways: {size}"


@pytest.mark.parametrize("width", bs.WIDTHS)
@pytest.mark.parametrize("name, user, path, charts", PAGES, ids=[p[0] for p in PAGES])
def test_page_is_accessible(open_browser, name, user, path, charts, width):
    page = load(open_browser, user, path, width)
    what = f"{name} ({path}) at {width} px"
    assert page.get_attribute("html", "lang") == "en-GB"
    assert page.title().endswith("whytrend") and page.locator("h1").count() == 1
    if name == "not-found":
        assert page.inner_text("h1") == "Page not found"
    assert_no_violations(page, what)
    assert_no_sideways_scroll(page, what)
    if page.locator("details:not([open])").count():
        # controls folded under a <details> (the answer comes first): unfolded, they must pass too
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        page.wait_for_timeout(100)
        assert_no_violations(page, what + " with its controls unfolded")
        assert_no_sideways_scroll(page, what + " with its controls unfolded")

    found = page.evaluate(CHARTS)
    assert len(found) >= charts, f"{what}: {len(found)} chart(s), expected at least {charts}"
    for chart in found:
        where = f"{what}, chart {chart['graph']}"
        assert chart["figure"] and chart["caption"], f"{where}: not in a figure with a caption"
        assert chart["imgInFigure"] and chart["labelledBy"] == chart["captionId"], \
            f"{where}: role=img is not named by the caption ({chart})"
        assert chart["tableTab"] == "Table" and chart["tableCaption"], f"{where}: no captioned Table view"
        assert chart["columnHeaders"] >= 2 and chart["headersWithoutScope"] == 0 and chart["rows"] >= 1, \
            f"{where}: table headers need a scope ({chart})"
        assert not chart["overlapsCaption"] and not chart["widerThanCard"], f"{where}: the chart spills out ({chart})"

    if page.locator(".card-panel[hidden]").count():
        # the Table, Download and About views: axe on their content once (at the desktop width: the
        # markup is the same at both), and their layout must fit the phone width too
        page.evaluate(REVEAL_VIEWS)
        page.wait_for_timeout(100)
        if width == max(bs.WIDTHS):
            assert_no_violations(page, what + " with every chart card view revealed")
        assert_no_sideways_scroll(page, what + " with every chart card view revealed")


def test_login_with_errors_is_accessible(open_browser):
    for width in bs.WIDTHS:
        page = open_browser(None, width=width)
        page.goto("/login", wait_until="domcontentloaded")
        page.fill("#username", "treasury")
        page.click("form button[type=submit]")
        page.locator(".error-summary").wait_for()
        assert page.locator(".field-error").count() == 1   # the missing password
        assert_no_violations(page, f"the sign-in page with errors at {width} px")
        assert_no_sideways_scroll(page, f"the sign-in page with errors at {width} px")
