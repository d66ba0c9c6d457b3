"""Pages answer first (issue 11), in a real browser on the demo served by the production server.

* Summary is a briefing: its first section lists exactly the metrics whose precomputed verdict is
  beyond the usual range, grouped as concerns, improvements and unusual changes, each with a reason
  naming the component, area or driver that moved it most; every metric is in one sortable table; a
  department filter narrows both; the briefing prints on A4 with its date and data vintage.
* Explain and Trends put the headline sentence within the first screen at 1280×800 and 375×740,
  controls folded under one line; after a committed choice the answer is brought into view and its
  heading takes the focus.
* Inputs keep what the reader typed: a period that cannot be used stays in its field with the problem
  beside it; a new metric keeps the comparison; Trends unticks a fifth area with a message.
* The metric picker filters as you type (axe with the controls unfolded: tests/test_accessibility.py).
"""
from __future__ import annotations

import re

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

SIZES = ((1280, 800), (375, 740))


def beyond_metrics(db) -> dict[str, object]:
    """The metrics whose precomputed verdict on the latest movement is beyond the usual range, with
    the reason the briefing should give (read from the served database, as the page reads it)."""
    from explain import headline, list_metrics, main_reason
    from loaders import Store

    store = Store(db)
    try:
        out = {}
        for info in list_metrics(store):
            h = headline(store, info.code)
            if h.verdict is not None and h.verdict.outcome == "beyond":
                out[info.code] = main_reason(h.reasons)
        return out
    finally:
        store.engine.dispose()


# ------------------------------------------------------------------------------ summary
@pytest.mark.parametrize("width, height", SIZES)
def test_the_summary_opens_with_exactly_the_unusual_changes_and_why(open_browser, live_app, width, height):
    expected = beyond_metrics(live_app.db)
    assert len(expected) >= 2, "the demo plants unusual changes in its latest month"
    page = open_browser("treasury", width=width, height=height)
    bs.open_page(page, "/")
    first = page.locator("main section").first
    assert first.get_attribute("id") == "summary-briefing"
    items = first.locator("article.briefing-item")
    shown = {items.nth(i).get_attribute("data-metric"): items.nth(i) for i in range(items.count())}
    assert set(shown) == set(expected)
    for code, reason in expected.items():
        assert reason is not None and reason.kind in ("component", "area", "segment", "driver"), code
        why = shown[code].locator(".briefing-item__why").inner_text()
        assert reason.name in why, (code, why)
        if 0 < reason.share <= 1.0005:  # its share of the change (beyond the whole change the sentence says so)
            assert f"{reason.share:.0%}" in why, (code, why)
        else:
            assert "more than the whole" in why or "pulled the other way" in why, (code, why)
        badge = shown[code].locator(".badge").inner_text()
        assert badge.startswith("Unusual change")
    # grouped: every concern comes before every improvement
    kinds = page.eval_on_selector_all("#summary-briefing .briefing__group",
                                      "groups => groups.map(g => g.className.split('--').pop())")
    assert kinds == [k for k in ("concern", "improvement", "neutral") if k in kinds] and kinds
    # the opening line counts them
    lead = page.inner_text(".page-header .lead")
    assert lead.startswith(f"{len(expected)} of ") and "beyond their usual range" in lead
    # the first unusual metric is on the first screen
    top = first.locator("article.briefing-item").first.bounding_box()
    assert top["y"] < height


def test_the_summary_table_lists_every_metric_and_sorts_by_a_column(open_browser, live_app):
    from explain import list_metrics
    from loaders import Store

    store = Store(live_app.db)
    codes = {m.code for m in list_metrics(store)}
    store.engine.dispose()
    page = open_browser("treasury")
    bs.open_page(page, "/")
    rows = page.locator("#summary-table tbody tr")
    assert {rows.nth(i).get_attribute("data-metric") for i in range(rows.count())} == codes
    # unusual changes first by default
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(rows.count())]
    unusual = [k in ("concern", "improvement", "neutral") for k in kinds]
    assert unusual == sorted(unusual, reverse=True)
    names = lambda: page.eval_on_selector_all("#summary-table tbody tr th", "cells => cells.map(c => c.textContent)")  # noqa: E731
    page.click("#summary-table th >> text=Metric")
    assert names() == sorted(names(), key=str.lower)
    assert page.get_attribute("#summary-table th:has(button:has-text('Metric'))", "aria-sort") == "ascending"
    page.click("#summary-table th >> text=Metric")
    assert names() == sorted(names(), key=str.lower, reverse=True)
    assert page.inner_text(".sort-status") == "Sorted by metric, descending."


def test_the_department_filter_narrows_the_briefing_and_the_table(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/")
    page.click(".filter__summary")
    with page.expect_navigation():
        page.click(".filter a:text-is('Department for Work and Pensions')")
    bs.settle(page)
    assert page.inner_text("h1") == "Summary for Department for Work and Pensions"
    departments = set(page.eval_on_selector_all("#summary-table tbody td[data-label='Department']",
                                                "cells => cells.map(c => c.textContent)"))
    assert departments == {"Department for Work and Pensions"}
    assert page.get_attribute(".filter a[aria-current='page']", "href") == "/?department=DWP"


def test_the_briefing_prints_on_a4_with_its_date_and_vintage(open_browser):
    page = open_browser("treasury", fresh=True)
    bs.sign_in(page, "treasury")
    bs.open_page(page, "/")
    page.emulate_media(media="print")
    assert page.locator(".briefing__tools").is_hidden() and page.locator(".site-nav").is_hidden()
    assert page.locator("#summary-briefing").is_visible() and page.locator("#summary-table").is_visible()
    stamp = page.inner_text(".briefing__stamp")
    assert re.match(r"Briefing of \d{1,2} [A-Z][a-z]+ \d{4}, data vintage \d+\.", stamp)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 6, pages
    box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", pdf)
    assert box and abs(float(box[3]) - 595) < 2 and abs(float(box[4]) - 842) < 2  # A4 in points


# ------------------------------------------------------------------------------ answers above the fold
@pytest.mark.parametrize("width, height", SIZES)
@pytest.mark.parametrize("path", ["/explain?metric=uc_caseload", "/explain?metric=ae_4h_pct&from=2025-09&to=2026-09",
                                  "/trends?metric=uc_caseload&compare=E12000001,E12000002,E12000007"])
def test_the_headline_sentence_is_on_the_first_screen(open_browser, path, width, height):
    page = open_browser("treasury", width=width, height=height)
    bs.open_page(page, path)
    lead = page.locator(".js-answer .lead").first
    box = lead.bounding_box()
    assert lead.inner_text().strip() and box["y"] >= 0 and box["y"] + box["height"] <= height, box
    # the controls are folded under one line that says what is shown
    panel = page.locator("details.controls-panel")
    assert panel.get_attribute("open") is None
    assert page.inner_text(".controls-panel__current").startswith(
        "Households on Universal Credit" if "uc_caseload" in path else "A&E 4-hour performance")


def test_choosing_a_metric_brings_its_answer_into_view_and_focus(open_browser):
    page = open_browser("treasury", width=375, height=740)
    bs.open_page(page, "/explain?metric=uc_caseload")
    page.click(".controls-panel__summary")
    page.click("label:text-is('Unemployment rate')")
    page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'H2'")
    bs.settle(page)
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused.startswith("Unemployment rate, all areas:")
    box = page.locator(".js-answer h2").first.bounding_box()
    assert -1 <= box["y"] < 740
    assert page.inner_text("#answer-status").startswith("Updated: Unemployment rate")


def test_the_metric_search_filters_the_options(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/explain?metric=uc_caseload")
    page.click(".controls-panel__summary")
    page.fill(".js-picker-search input", "asylum")
    visible = page.eval_on_selector_all(".metric-picker .form-check",
                                        "opts => opts.filter(o => !o.hidden).map(o => o.textContent)")
    assert visible and all("asylum" in v.lower() for v in visible)
    assert page.inner_text(".picker-status") == f"{len(visible)} metrics match"
    # a department's name finds its metrics too
    page.fill(".js-picker-search input", "home office")
    assert page.eval_on_selector_all(".metric-picker .form-check",
                                     "opts => opts.filter(o => !o.hidden).length") == len(visible)


# ------------------------------------------------------------------------------ inputs
def test_a_period_that_cannot_be_used_stays_typed_with_the_problem_beside_it(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/explain?metric=uc_caseload")
    url = page.url
    heading = page.inner_text(".js-answer h2")
    page.click(".controls-panel__summary")
    page.fill("#explain-from", "2026-13")
    page.click("#explain-apply")
    page.wait_for_function("() => document.getElementById('explain-from-error').textContent.length > 0")
    assert page.input_value("#explain-from") == "2026-13"
    error = page.inner_text("#explain-from-error")
    assert "'2026-13' is not a period we can read" in error and "2026-08" in error
    assert page.get_attribute("#explain-from", "aria-invalid") == "true" or "is-invalid" in (
        page.get_attribute("#explain-from", "class") or "")
    assert page.url == url and page.inner_text(".js-answer h2") == heading
    # another spelling of a period the series has is read
    page.fill("#explain-from", "September 2025")
    page.fill("#explain-to", "Sep 2026")
    page.click("#explain-apply")
    page.wait_for_url(re.compile(r"from=2025-09&to=2026-09|to=2026-09.*from=2025-09"))
    bs.settle(page)
    assert page.inner_text("#explain-from-error") == ""
    assert page.inner_text(".js-answer h2").endswith("September 2025 to September 2026")


def test_a_new_metric_keeps_the_comparison(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/explain?metric=uc_caseload")
    page.click(".controls-panel__summary")
    page.check("input[name='explain-comparison'][value='year']")
    bs.settle(page)
    assert page.inner_text(".js-answer h2").endswith("September 2025 to September 2026")
    page.click("label:text-is('Claimant count')")
    page.wait_for_url(re.compile(r"metric=claimant_count"))
    bs.settle(page)
    assert page.inner_text(".js-answer h2") == "Claimant count, all areas: September 2025 to September 2026"
    assert page.is_checked("input[name='explain-comparison'][value='year']")


def test_trends_unticks_a_fifth_area_and_says_why(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/trends?metric=uc_caseload&compare=E12000001,E12000002,E12000003,E12000004")
    page.click(".controls-panel__summary")
    page.check("input[name='trends-compare'][value='E12000005']")
    page.wait_for_function("() => document.getElementById('trends-compare-message').textContent.length > 0")
    bs.settle(page)
    ticked = page.eval_on_selector_all("input[name='trends-compare']:checked", "boxes => boxes.map(b => b.value)")
    assert len(ticked) == 4 and "E12000005" not in ticked
    assert "At most 4 areas" in page.inner_text("#trends-compare-message")
    assert page.locator("#trends-compare-chart .js-plotly-plot").count() == 1
    lines = page.evaluate("document.querySelector('#trends-compare-chart .js-plotly-plot').data.length")
    assert lines >= 4
