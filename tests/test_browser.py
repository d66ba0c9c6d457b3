"""The app in a real browser: the demo served by the production server (gunicorn, 2 workers) and
driven through Debian's headless chromium with Playwright.

Sign-in and roles, the Summary -> Explain journey, background fits with progress and Cancel, the
upload check that writes nothing, departmental scoping and role checks against hand-made callback
POSTs, and keyboard-only use of every page. Fixtures: tests/conftest.py; helpers: browser_support.py.
"""
from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

VIEWER_NAV = ["Summary", "Trends", "Explain", "Metrics"]
ANALYST_NAV = VIEWER_NAV + ["Model lab", "Data"]
NAV = {"admin": ANALYST_NAV, "analyst": ANALYST_NAV, "treasury": VIEWER_NAV, "dwp": VIEWER_NAV}
NHS_REQUEST = {"metric": "ae_4h_pct", "area": None, "from": "2026-08", "to": "2026-09", "by": None}


ROUTER = ".._pages_content.children..._pages_store.data.."


def record_callbacks(page) -> list[str]:
    """The outputs of the callbacks the page POSTs from now on (a list that fills as it goes)."""
    outputs: list[str] = []

    def seen(request):
        if request.method == "POST" and "/_dash-update-component" in request.url and request.post_data:
            outputs.append(json.loads(request.post_data)["output"])

    page.on("request", seen)
    return outputs


def path_of(url: str) -> str:
    return urlsplit(url).path


def main_text(page) -> str:
    return page.inner_text("main")


# ------------------------------------------------------------------------------ signing in
@pytest.mark.parametrize("username", ["admin", "analyst", "treasury", "dwp"])
def test_each_role_signs_in_to_the_summary_with_its_menu_and_signs_out(open_browser, username):
    page = open_browser()
    page.goto("/trends", wait_until="domcontentloaded")
    assert path_of(page.url) == "/login" and parse_qs(urlsplit(page.url).query)["next"] == ["/trends"]
    bs.sign_in(page, username)
    page.goto("/", wait_until="domcontentloaded")
    bs.settle(page)
    assert path_of(page.url) == "/"
    assert page.inner_text("h1") == "Summary"
    assert bs.nav_names(page) == NAV[username]
    assert page.get_attribute(".site-nav__link[href='/']", "aria-current") == "page"
    header = page.inner_text(".site-header__user")
    assert username in header and ("DWP" if username == "dwp" else "all departments") in header
    departments = set(page.locator("#summary-table td[data-label='Department']").all_inner_texts())
    if username == "dwp":
        assert departments == {"Department for Work and Pensions"}
        assert "A&E" not in main_text(page)
    else:
        assert len(departments) == 5 and "Department for Work and Pensions" in departments
    assert page.locator("#summary-table tbody tr").count() == (4 if username == "dwp" else 22)

    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click(".site-header__signout")
    assert path_of(page.url) == "/login"
    assert "You have signed out." in page.inner_text("[role=status]")
    page.goto("/", wait_until="domcontentloaded")
    assert path_of(page.url) == "/login"
    assert page.request.get("/_dash-layout").status == 401


def test_a_wrong_password_shows_an_error_summary_and_does_not_sign_in(open_browser):
    page = open_browser()
    page.goto("/login", wait_until="domcontentloaded")
    page.fill("#username", "treasury")
    page.fill("#password", "not-the-password")
    with page.expect_response(lambda r: path_of(r.url) == "/login" and r.request.method == "POST") as answer:
        page.click("form button[type=submit]")
    assert answer.value.status == 400
    summary = page.locator(".error-summary")
    assert summary.is_visible() and summary.get_attribute("role") == "alert"
    assert "There is a problem" in summary.inner_text()
    assert "The user name or password is not right" in summary.inner_text()
    assert page.title().startswith("Error: ")
    # focus moves to the summary (autofocus: the browser applies it once the page is parsed, a moment
    # after the response, so wait for it rather than read it at once)
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'",
                           timeout=5_000)
    assert summary.locator("a").get_attribute("href") == "#username"
    assert page.get_attribute("#username", "aria-invalid") == "true"
    assert page.input_value("#username") == "treasury" and page.input_value("#password") == ""
    page.goto("/", wait_until="domcontentloaded")
    assert path_of(page.url) == "/login"


# ------------------------------------------------------------------------------ summary -> explain
def test_a_briefing_item_leads_to_the_explanation_of_its_metric(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/")
    callbacks = record_callbacks(page)
    card = page.locator("#summary-briefing article[data-metric='uc_caseload']")
    assert card.count() == 1
    link = card.locator("h4 a")
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(r"/explain\?metric=uc_caseload"))
    bs.settle(page)
    query = parse_qs(urlsplit(href).query)
    start, end = query["from"][0], query["to"][0]

    from explain.numbers import period_short_text, period_text

    heading = page.inner_text("#explain-result h2")   # months in prose; ISO stays in the URL
    assert heading == f"Households on Universal Credit, all areas: {period_text(start, 'M')} to {period_text(end, 'M')}"
    # the driver waterfall: a drawn Plotly chart named by its caption, which names the metric
    card = page.locator("#explain-drivers")
    plot = card.locator("figure .js-plotly-plot")
    plot.wait_for()
    caption_id = card.locator("[role=img]").get_attribute("aria-labelledby")
    caption = page.inner_text(f"#{caption_id}")
    assert caption.startswith(f"Households on Universal Credit, {period_text(start, 'M')} to {period_text(end, 'M')}.")
    assert "is associated with the largest part of the change" in caption
    figure = page.evaluate("""() => {
        const gd = document.querySelector('#explain-drivers .js-plotly-plot');
        return {title: gd.layout.title.text, y: gd.data[0].y, bars: gd.querySelectorAll('.barlayer path').length};
    }""")
    assert figure["title"].startswith("Most associated with")
    assert figure["y"][0] == period_short_text(start, "M") and figure["y"][-1] == period_short_text(end, "M")
    assert figure["bars"] >= 3
    narrative = page.inner_text(".narrative")
    assert narrative.startswith("Households on Universal Credit") and "is associated most with" in narrative
    assert re.fullmatch(r"Data vintage \d+ · driver model version \d+ \(linear, out-of-sample R² [0-9.]+\)",
                        page.inner_text(".trace-line"))
    # a precomputed explanation: read, not worked out (no background job, no progress bar)
    assert page.locator("#explain-progress").is_hidden()
    assert callbacks == [ROUTER], callbacks
    assert page.get_attribute(".site-nav__link[href='/explain']", "aria-current") == "page"


def test_an_explanation_that_was_not_precomputed_is_worked_out_in_the_background(open_browser):
    page = open_browser("treasury")
    callbacks = record_callbacks(page)
    bs.open_page(page, "/explain?metric=ae_4h_pct&area=E12000004&by=dept_type")
    assert "explain-computed.data" in callbacks, callbacks       # the background job ran
    page.wait_for_function("() => !!document.querySelector('#explain-segments .js-plotly-plot')")
    bs.settle(page)
    assert page.locator("#explain-progress").is_hidden()
    assert page.inner_text("#explain-segments h2") == "Which values of department type moved it"
    assert page.evaluate("document.querySelector('#explain-segments .js-plotly-plot').data[0].y").count("Type 1") == 1
    assert page.input_value("#explain-area-search") == "East Midlands (E12000004)"
    assert page.is_checked("input[name='explain-by'][value='dept_type']")


# ------------------------------------------------------------------------------ model lab
PROGRESS_RECORDER = """() => {
    window.__progress = [];
    const block = document.getElementById('lab-progress'), bar = document.getElementById('lab-progress-bar');
    const record = () => window.__progress.push({value: bar.getAttribute('aria-valuenow'), hidden: block.hidden,
        width: bar.style.width, status: document.getElementById('lab-progress-status').textContent});
    new MutationObserver(record).observe(block, {attributes: true, subtree: true, childList: true,
                                                 characterData: true});
}"""


def test_model_lab_fits_in_the_background_and_a_tune_can_be_cancelled(open_browser, live_app):
    before = bs.model_versions(live_app.db, "uc_caseload")
    page = open_browser("analyst")
    bs.open_page(page, "/model-lab?metric=uc_caseload")
    assert page.is_checked("input[name='lab-kind'][value='linear']")
    assert page.locator("#lab-progress").is_hidden()

    # Fit: a background job whose progress bar shows, advances and completes with a new version
    page.evaluate(PROGRESS_RECORDER)
    page.click("#lab-fit")
    page.locator("#lab-progress").wait_for(state="visible", timeout=10_000)
    assert page.is_disabled("#lab-fit") and page.is_disabled("#lab-tune")
    page.wait_for_function("() => document.getElementById('lab-fit-result').textContent.includes('Saved version')",
                           timeout=60_000)
    page.locator("#lab-progress").wait_for(state="hidden", timeout=10_000)
    bs.settle(page)
    seen = page.evaluate("window.__progress")
    values = [int(s["value"]) for s in seen if s["value"] is not None]
    assert values == sorted(values), f"the progress bar went backwards: {values}"
    # (a linear fit in a warm worker can finish between two polls: intermediate progress is checked
    # on the tune below, which takes long enough)
    assert values[-1] == 100 and any("Saved (100%)" in s["status"] for s in seen)
    after = bs.model_versions(live_app.db, "uc_caseload")
    assert len(after) == len(before) + 1
    new = after[-1]
    assert f"Saved version {new} (linear)" in page.inner_text("#lab-fit-result")
    rows = page.evaluate("""() => Array.from(document.querySelectorAll('#lab-versions table tbody tr'))
                               .map(tr => Array.from(tr.cells).map(c => c.textContent))""")
    headers = page.locator("#lab-versions table thead th").all_inner_texts()
    row = next(r for r in rows if r[0] == str(new))
    cv = dict(zip(headers, row))
    assert float(cv["Out-of-sample R²"]) > 0.5 and float(cv["Out-of-sample mean absolute error"].replace(",", "")) > 0
    assert cv["Active"] == "" and cv["Kind"] == "linear" and "Claimant count" in cv["Drivers"]
    assert page.input_value("input[name='lab-version']:checked") == str(new)
    page.wait_for_function(f"() => (document.querySelector('#lab-diagnostics h2') || {{}}).textContent"
                           f" === 'Version {new}: how good is it?'")
    assert page.locator("#lab-cv .js-plotly-plot").count() == 1

    # Tune and fit (gradient boosting: takes long enough to cancel), then Cancel: it stops
    page.check("input[name='lab-kind'][value='gradient_boosting']")
    bs.settle(page)
    jobs_before = {p.pid for p in live_app.job_processes()}
    page.evaluate(PROGRESS_RECORDER)
    page.click("#lab-tune")
    page.locator("#lab-progress").wait_for(state="visible", timeout=10_000)
    if live_app.process is not None:  # the job runs in a process of its own
        deadline = time.monotonic() + 10
        while not {p.pid for p in live_app.job_processes()} - jobs_before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert {p.pid for p in live_app.job_processes()} - jobs_before, "no background job started"
    page.wait_for_function("() => window.__progress.some(s => +s.value > 0 && +s.value < 100)", timeout=60_000)
    page.click("#lab-cancel")
    page.locator("#lab-progress").wait_for(state="hidden", timeout=15_000)
    assert not page.is_disabled("#lab-tune") and not page.is_disabled("#lab-fit")
    if live_app.process is not None:
        deadline = time.monotonic() + 10
        while {p.pid for p in live_app.job_processes()} - jobs_before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not {p.pid for p in live_app.job_processes()} - jobs_before, "the cancelled job kept running"
    page.wait_for_timeout(1000)
    assert bs.model_versions(live_app.db, "uc_caseload") == after
    assert f"Saved version {new} (linear)" in page.inner_text("#lab-fit-result")   # no newer result


# ------------------------------------------------------------------------------ data upload
BAD_VALUES = ('Month,Asylum applications (main applicants),Initial decisions,'
              'Cases awaiting an initial decision (end of month)\n'
              'January 2017,"1,999","2,398","25,601"\n'
              'February 2017,lots,"2,206","25,624"\n'
              'Notamonth 2017,"2,044","2,097","25,571"\n')
MISSING_COLUMNS = "Month,Applications,Initial decisions\nJanuary 2017,1,2\n"


def _table(page, selector: str) -> list[dict[str, str]]:
    return page.evaluate("""(selector) => {
        const table = document.querySelector(selector);
        const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.textContent);
        return Array.from(table.querySelectorAll('tbody tr')).map(tr =>
            Object.fromEntries(Array.from(tr.cells).map((c, i) => [heads[i], c.textContent])));
    }""", selector)


def _latest_vintage(page, source: str) -> str:
    rows = _table(page, "main table")
    return next(r["Latest vintage"] for r in rows if r["Source"] == source)


def test_a_bad_upload_shows_the_validation_report_and_writes_nothing(open_browser, live_app, tmp_path):
    vintages = bs.vintage_count(live_app.db)
    page = open_browser("admin")
    bs.open_page(page, "/data")
    latest = _latest_vintage(page, "ho-asylum-monthly")
    page.check("input[name='upload-source'][value='ho-asylum-monthly']")
    assert page.is_disabled("#upload-load")

    bad = tmp_path / "asylum-bad-values.csv"
    bad.write_text(BAD_VALUES)
    page.set_input_files(".upload-zone input[type=file]", str(bad))
    page.locator("#upload-report .message").wait_for(timeout=30_000)
    bs.settle(page)
    report = page.inner_text("#upload-report")
    assert "Nothing has been written" in report
    problems = _table(page, "#upload-report .upload-problems table")
    assert {"Row": "3", "Column": "Asylum applications (main applicants)", "Value": "lots"}.items() <= \
        next(p for p in problems if p["Row"] == "3").items()
    assert {"Row": "4", "Column": "Month", "Value": "Notamonth 2017"}.items() <= \
        next(p for p in problems if p["Row"] == "4").items()
    assert all(p["Severity"] == "quarantine" for p in problems)
    # every reason names the file the user chose, never the server's saved copy; the spellings once
    assert all(p["Message"].startswith("asylum-bad-values.csv, row ") for p in problems)
    assert "upload.csv" not in report and report.count("Periods can be written as") == 1
    # what loading it would change, from the load itself rolled back: February 2017's applications are
    # quarantined ('lots'), so the value the store has for that month would be withdrawn
    assert "What loading this file would change" in report
    withdrawn = _table(page, "#upload-report .upload-changes table")
    assert withdrawn and {"Metric": "Asylum applications", "Period": "2017-02"}.items() <= withdrawn[0].items()
    assert bs.vintage_count(live_app.db) == vintages

    broken = tmp_path / "asylum-missing-columns.csv"
    broken.write_text(MISSING_COLUMNS)
    page.set_input_files(".upload-zone input[type=file]", str(broken))
    page.wait_for_function("() => document.getElementById('upload-report').textContent.includes('cannot be loaded')",
                           timeout=30_000)
    bs.settle(page)
    report = page.inner_text("#upload-report")
    assert "Nothing has been written" in report and "Asylum applications (main applicants)" in report
    assert page.get_attribute("#upload-report .message", "role") == "alert"
    assert page.is_disabled("#upload-load")

    assert bs.vintage_count(live_app.db) == vintages
    bs.open_page(page, "/data")
    assert _latest_vintage(page, "ho-asylum-monthly") == latest


# ------------------------------------------------------------------------------ access control
def _post_callback(page, live_app, payload: dict):
    return page.request.post("/_dash-update-component", data=json.dumps(payload),
                             headers={"Content-Type": "application/json", "Origin": live_app.url})


def test_a_department_user_cannot_reach_another_departments_metric(open_browser, live_app):
    page = open_browser("dwp")
    for path in ("/explain?metric=ae_4h_pct&from=2026-08&to=2026-09", "/explain?metric=ae_4h_pct",
                 "/trends?metric=ae_4h_pct"):
        bs.open_page(page, path)
        text = main_text(page)
        assert "You do not have access" in text, path
        assert page.inner_text("h1") == "Access denied"
        assert page.locator(".js-plotly-plot").count() == 0 and "A&E" not in text
    bs.open_page(page, "/trends?metric=uc_caseload")       # the user's own metrics still work
    assert page.locator("#trends-chart .js-plotly-plot").count() == 1

    dependencies = page.request.get("/_dash-dependencies").json()
    show = bs.callback_payload(dependencies, "explain-result.children", [NHS_REQUEST, None])
    refused = _post_callback(page, live_app, show)
    assert refused.status == 403 and "do not have access" in refused.text()
    trends = bs.callback_payload(dependencies, "..trends-messages",
                                 ["ae_4h_pct", "whole", "", "", "", "latest", [], "cash"])
    assert _post_callback(page, live_app, trends).status == 403
    own = bs.callback_payload(dependencies, "explain-result.children", [{**NHS_REQUEST, "metric": "uc_caseload"}, None])
    answered = _post_callback(page, live_app, own)
    assert answered.status == 200 and "explain-drivers" in answered.text()
    # a POST without a same-origin Origin is refused whatever it asks for
    cross = page.request.post("/_dash-update-component", data=json.dumps(own),
                              headers={"Content-Type": "application/json", "Origin": "https://evil.example"})
    assert cross.status == 403


def test_a_viewer_can_neither_open_the_model_lab_nor_call_it(open_browser, live_app):
    page = open_browser("treasury")
    bs.open_page(page, "/model-lab?metric=uc_caseload")
    assert page.inner_text("h1") == "Access denied"
    assert "needs the analyst role" in main_text(page)
    assert page.locator("#lab-fit").count() == 0 and "Model lab" not in bs.nav_names(page)
    bs.open_page(page, "/data")
    assert page.inner_text("h1") == "Access denied"

    dependencies = page.request.get("/_dash-dependencies").json()
    diagnose = bs.callback_payload(dependencies, "..lab-diagnostics", ["uc_caseload", 1])
    refused = _post_callback(page, live_app, diagnose)
    assert refused.status == 403 and "analyst" in refused.text()
    fit = bs.callback_payload(dependencies, "..lab-fit-errors", [1, 0],
                              ["uc_caseload", ["driver:claimant_count"], "linear", []])
    assert _post_callback(page, live_app, fit).status == 403
    analyst = open_browser("analyst")
    answered = _post_callback(analyst, live_app, diagnose)
    assert answered.status == 200 and "lab-cv" in answered.text()


# ------------------------------------------------------------------------------ keyboard only
#: every element a keyboard user should reach with Tab (one radio per group: the checked one, else
#: the first), marked with data-kb so the walk can tick them off
MARK_TABBABLE = """() => {
    const folded = el => {   // inside a closed <details>, other than in its own <summary>
        const closed = 'details:not([open])';
        for (let d = el.closest(closed); d; d = d.parentElement && d.parentElement.closest(closed)) {
            const summary = d.querySelector(':scope > summary');
            if (!(summary && summary.contains(el))) { return true; }
        }
        return false;
    };
    const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
                          && !el.closest('[hidden]') && !folded(el);
    const candidates = Array.from(document.querySelectorAll(
        'a[href], button, input, select, textarea, summary, [tabindex]'));
    const wanted = [], groups = {};
    for (const el of candidates) {
        if (el.tabIndex < 0 || el.disabled || el.type === 'hidden' || !visible(el)) { continue; }
        if (el.type === 'radio') {
            const key = (el.form ? 'f' : '') + el.name;
            if (!(key in groups)) { groups[key] = []; }
            groups[key].push(el);
            continue;
        }
        wanted.push(el);
    }
    for (const radios of Object.values(groups)) { wanted.push(radios.find(r => r.checked) || radios[0]); }
    wanted.forEach((el, i) => el.setAttribute('data-kb', String(i)));
    return wanted.length;
}"""
#: the focused element and whether its focus is visible (an outline or a box shadow)
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) { return null; }
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow !== 'none';
    const box = el.getBoundingClientRect();
    return {kb: el.getAttribute('data-kb'), html: el.outerHTML.slice(0, 160), outline, shadow,
            width: box.width, height: box.height, shown: box.width > 1 && box.height > 1};
}"""
KEYBOARD_PAGES = [
    ("anon", "/login"),
    ("treasury", "/"),
    ("treasury", "/trends?metric=uc_caseload&compare=E12000001"),
    ("treasury", "/explain?metric=uc_caseload"),
    ("treasury", "/metrics"),
    ("treasury", "/metrics?metric=uc_caseload"),
    ("analyst", "/model-lab?metric=uc_caseload"),
    ("admin", "/data?source=ho-asylum-monthly"),
]


def tab_through(page, limit: int = 400) -> tuple[int, list[dict]]:
    """Press Tab from the top of the page until focus leaves the document (or comes round again)."""
    wanted = page.evaluate(MARK_TABBABLE)   # nothing has focus yet: the first Tab starts at the top
    stops: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or (stops and focused["html"] == stops[0]["html"]):
            break
        stops.append(focused)
    return wanted, stops


@pytest.mark.parametrize("user, path", KEYBOARD_PAGES, ids=[p for _, p in KEYBOARD_PAGES])
def test_every_control_is_reached_by_tab_with_a_visible_focus(open_browser, user, path):
    page = open_browser(None if user == "anon" else user)
    if user == "anon":
        page.goto(path, wait_until="networkidle")
    else:
        bs.open_page(page, path)
    for unfold in (False, True):   # controls folded under a <details>, then unfolded
        if unfold:
            if not page.locator("details:not([open])").count():
                break
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.wait_for_timeout(100)
        check_tab_order(page)


def check_tab_order(page) -> None:
    wanted, stops = tab_through(page)
    assert wanted >= 3 and stops, "nothing to tab through"
    reached = {s["kb"] for s in stops if s["kb"] is not None}
    missed = page.evaluate("""(reached) => Array.from(document.querySelectorAll('[data-kb]'))
        .filter(el => !reached.includes(el.getAttribute('data-kb'))).map(el => el.outerHTML.slice(0, 160))""",
                           sorted(reached))
    assert not missed, f"not reachable with Tab: {missed}"
    invisible = [s["html"] for s in stops if not (s["outline"] or s["shadow"]) or not s["shown"]]
    assert not invisible, f"focus not visible on: {invisible}"
    assert "skip-link" in stops[0]["html"]                 # the skip link comes first


def test_the_skip_link_moves_focus_to_the_main_content(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/trends?metric=uc_caseload")
    page.keyboard.press("Tab")
    link = page.evaluate(FOCUSED)
    assert "skip-link" in link["html"] and link["width"] > 100 and (link["outline"] or link["shadow"])
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
    page.keyboard.press("Tab")   # the first control in the page: the line that unfolds the controls
    assert page.evaluate("!!document.activeElement.closest('main') && document.activeElement.tagName") == "SUMMARY"


def test_chart_card_tabs_switch_with_arrow_keys_home_end_and_enter(open_browser):
    page = open_browser("treasury")
    bs.open_page(page, "/trends?metric=uc_caseload")
    card = "trends-chart"

    def state():
        return page.evaluate("""(card) => ({
            focused: document.activeElement.id,
            selected: Array.from(document.querySelectorAll(`#${card} [role=tab][aria-selected=true]`)).map(t => t.id),
            shown: Array.from(document.querySelectorAll(`#${card} [role=tabpanel]`)).filter(p => !p.hidden)
                        .map(p => p.getAttribute('data-view')),
            tabbable: Array.from(document.querySelectorAll(`#${card} [role=tab]`)).filter(t => t.tabIndex === 0)
                           .map(t => t.id)})""", card)

    def expect(view):
        now = state()
        tab = f"{card}--tab-{view}"
        assert now == {"focused": tab, "selected": [tab], "shown": [view], "tabbable": [tab]}, now

    page.focus(f"#{card}--tab-chart")
    expect("chart")
    page.keyboard.press("ArrowRight")
    expect("table")
    table = page.locator(f"#{card}--panel-table table")
    assert table.is_visible() and table.locator("caption").inner_text()
    page.keyboard.press("End")
    expect("about")
    page.keyboard.press("ArrowRight")   # wraps round
    expect("chart")
    page.keyboard.press("ArrowLeft")
    expect("about")
    page.keyboard.press("Home")
    expect("chart")
    page.focus(f"#{card}--tab-download")    # Enter (and Space) activate a focused tab
    page.keyboard.press("Enter")
    expect("download")
    page.focus(f"#{card}--tab-table")
    page.keyboard.press("Space")
    expect("table")
    page.keyboard.press("Tab")              # into the panel shown, then the table's scrolling region
    assert page.evaluate("document.activeElement.id") == f"{card}--panel-table"


# ------------------------------------------------------------------------------ content security policy
@pytest.mark.parametrize("path", ["/", "/trends?metric=uc_caseload", "/explain?metric=uc_caseload",
                                  "/model-lab?metric=uc_caseload", "/data"])
def test_pages_work_under_the_content_security_policy(open_browser, path):
    """The policy allows scripts from this site only: every page must render without the browser
    reporting a blocked script, style or connection."""
    page = open_browser("analyst")
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    response = page.goto(path, wait_until="domcontentloaded")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    bs.settle(page)
    assert page.locator("h1").count() >= 1 and "Something went wrong" not in main_text(page)
    assert blocked == []
