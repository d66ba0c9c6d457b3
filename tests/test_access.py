"""The access probe and the trust fixes of issue 13 (Flask test client on the demo store).

The probe calls every callback of the app, background ones included, as department-scoped
viewers and analysts, with other departments' metrics (and forged job tickets, shapes and types)
in every field, and asserts that no response carries a figure, name or code of a metric the user
may not see, and that no malformed request gets a server error.
"""
from __future__ import annotations

import json
import os
import re
import time

import pytest

from dashapp import access, auth
from dashapp import analysis_ids as aid

ORIGIN = {"Origin": "http://localhost"}
HEADERS = {**ORIGIN, "Content-Type": "application/json"}


# ----------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def users(shell_store):
    """The demo users plus department-scoped analysts."""
    from loaders.accounts import add_user

    add_user(shell_store, "dwp_analyst", "password123", role="analyst", department="DWP", replace=True)
    add_user(shell_store, "nhs_analyst", "password123", role="analyst", department="DHSC", replace=True)
    return ("dwp", "dwp_analyst", "nhs", "nhs_analyst")


@pytest.fixture(scope="module")
def dependencies(shell_app, shell_store):
    from dashapp.auth import SESSION_KEY
    from loaders.sessions import create_session

    client = shell_app.server.test_client()
    with client.session_transaction() as session:
        session[SESSION_KEY] = create_session(shell_store, "admin")
    client.get("/")  # Dash's first-request set-up registers the pages router
    return client.get("/_dash-dependencies").get_json()


def spec_items(items, values):
    """Payload items for declared inputs/states (pattern ALL inputs as a one-element group)."""
    out = []
    for item, value in zip(items, values):
        ident = item["id"]
        if ident.startswith("{"):
            pattern = json.loads(ident)
            concrete = {k: ("DWP" if k == "dept" else "probe") if isinstance(v, list) else v for k, v in pattern.items()}
            one = {"id": concrete, "property": item["property"], "value": value}
            many = any(v in (["ALL"], ["ALLSMALLER"]) for v in pattern.values())
            out.append([one] if many else one)
        else:
            out.append({"id": ident, "property": item["property"], "value": value})
    return out


def payload(dep, inputs, state=()):
    outputs = []
    for part in dep["output"].strip(".").split("..."):
        cid, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop.split("@")[0]})
    return {"output": dep["output"], "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": spec_items(dep["inputs"], inputs), "state": spec_items(dep["state"], state),
            "changedPropIds": []}


def find(dependencies, prefix):
    return next(d for d in dependencies if d["output"].startswith(prefix))


def post(client, body, query=""):
    return client.post("/_dash-update-component" + query, data=json.dumps(body), headers=HEADERS)


def metrics_by_department(store):
    from explain import list_metrics

    out: dict[str, list] = {}
    for m in list_metrics(store):
        out.setdefault(m.department, []).append(m)
    return out


def forbidden_for(store, department):
    """(codes, names) of every metric a ``department`` user may not see even as a driver."""
    from explain import list_metrics, visible_driver_codes

    seen = visible_driver_codes(store, department)
    hidden = [m for m in list_metrics(store) if m.code not in seen]
    return {m.code for m in hidden}, {m.name for m in hidden}


def leaks(text: str, sent: str, codes: set[str], names: set[str]) -> list[str]:
    """Forbidden names in a response, and forbidden codes in it that the request did not carry itself."""
    found = [n for n in names if n in text]
    found += [c for c in codes if re.search(rf"\b{re.escape(c)}\b", text) and c not in sent]
    return found


def hostile_values(own: str, other: str, other_driver: str, key: bytes) -> list:
    """Values a hostile user puts in any field: other departments' metrics in every shape the app
    reads, forged and cross-purpose job tickets, and malformed types."""
    from dashapp.jobs import issue_ticket

    forged = issue_ticket(b"not-the-key", "fit", "dwp_analyst", {"metric": own, "drivers": [other], "kind": "linear",
                                                                  "pseudo": [], "tune": False})
    return [
        other, [other], [own, other], f"driver:{other}", [f"driver:{other}"], [f"driver:{other_driver}"],
        f"?metric={other}", {"metric": other},
        {"metric": other, "area": None, "from": "2026-08", "to": "2026-09", "by": None},
        {"metric": own, "area": None, "from": "2026-08", "to": "2026-09", "by": None, "drivers": [other],
         "kind": "linear", "pseudo": [], "tune": False},
        {"metric": other, "version": 1}, {"key": {"metric": other}, "done": True},
        {"columns": [other], "rows": [[other]], "filename": other},
        forged, {**forged, "sig": "0" * 64}, 12345, -1, True, 1.5, "x" * 5000, [[[[[]]]]], {"a": {"b": {"c": 1}}},
    ]


# ----------------------------------------------------------------------------- the probe
def benign(ident: str, prop: str, own: str, pattern: bool):
    """What the page itself would send in a field for the user's own metric ``own`` (so that a
    hostile value in one field meets real values in the others and the callback really runs)."""
    if prop in ("n_clicks", "n_intervals"):
        return 1
    if ident in (aid.TRENDS_METRIC, aid.EXPLAIN_METRIC) and prop == "value":
        return [own]
    if prop == "id" and pattern:
        return [{"type": ident, "dept": "DWP"}]
    fixed = {
        aid.TRENDS_METRIC_STORE: own, aid.EXPLAIN_METRIC_STORE: own, aid.LAB_METRIC: own,
        "trends-area-scope": "whole", "explain-area-scope": "whole", aid.EXPLAIN_COMPARISON: "previous",
        aid.TRENDS_VINTAGE: "latest", aid.LAB_KIND: "linear", aid.LAB_PSEUDO: ["trend"], aid.LAB_VERSION: 1,
        aid.EXPLAIN_REQUEST: {"metric": own, "area": None, "from": "2026-08", "to": "2026-09", "by": None},
        "_pages_location": "/explain" if prop == "pathname" else f"?metric={own}",
    }
    return fixed.get(ident)


def test_probe_every_callback_and_field_as_scoped_users_finds_no_leak(shell_app, shell_store, signed_in, users,
                                                                      dependencies):
    """The probe of the issue: every callback (background ones too), every input and state, as
    department-scoped viewers and analysts, with other departments' metrics in every field."""
    by_dept = metrics_by_department(shell_store)
    with shell_app.server.app_context():
        key = auth.job_ticket_key()
    statuses: dict[int, int] = {}
    found: list = []
    sent_count = 0
    for username, department, other_dept in (("dwp", "DWP", "DHSC"), ("dwp_analyst", "DWP", "DHSC"),
                                             ("nhs", "DHSC", "DWP"), ("nhs_analyst", "DHSC", "DWP")):
        client = signed_in(username)
        own = by_dept[department][0].code
        other = by_dept[other_dept][0].code
        other_driver = next(m.code for m in by_dept["HO"])
        codes, names = forbidden_for(shell_store, department)
        assert other in codes and other_driver in codes and names
        values = hostile_values(own, other, other_driver, key)
        for dep in dependencies:
            fields = len(dep["inputs"]) + len(dep["state"])
            for position in range(fields):
                for value in values:
                    row = [benign(json.loads(i["id"])["type"] if i["id"].startswith("{") else i["id"], i["property"],
                                  own, i["id"].startswith("{")) for i in [*dep["inputs"], *dep["state"]]]
                    row[position] = value
                    body = payload(dep, row[:len(dep["inputs"])], row[len(dep["inputs"]):])
                    sent = json.dumps(body)
                    response = post(client, body)
                    sent_count += 1
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    assert response.status_code < 500, (username, dep["output"], position, value)
                    if response.status_code == 200:
                        found += [(username, dep["output"], hit) for hit in
                                  leaks(response.get_data(as_text=True), sent, codes, names)]
    assert found == []
    assert sent_count > 2000 and statuses.get(403, 0) > 300 and statuses.get(400, 0) > 300, statuses
    print(f"probe: {sent_count} requests, statuses {dict(sorted(statuses.items()))}, leaks 0")


def test_the_probe_sees_a_leak_when_there_is_one():
    """The leak detector itself: a forbidden name anywhere, a forbidden code the request did not carry."""
    codes, names = {"ae_attendances"}, {"A&E attendances"}
    assert leaks('{"x": "A&E attendances rose"}', "{}", codes, names) == ["A&E attendances"]
    assert leaks('{"x": "ae_attendances"}', "{}", codes, names) == ["ae_attendances"]
    assert leaks('{"x": "ae_attendances"}', '{"value": "ae_attendances"}', codes, names) == []  # echoed input
    assert leaks('{"x": "uc_caseload"}', "{}", codes, names) == []


# ----------------------------------------------------------------------------- finding 1
def test_an_explain_ticket_cannot_start_a_fit_and_a_fit_cannot_name_an_unshared_driver(
        shell_app, shell_store, signed_in, users, dependencies):
    """The exploit of finding 1: an Explain job request, padded with fit fields naming another
    department's metric as a driver, replayed to the Model lab's fit job."""
    client = signed_in("dwp_analyst")
    need = find(dependencies, aid.EXPLAIN_PENDING)
    padded = {"metric": "uc_caseload", "area": None, "from": "2019-01", "to": "2020-01", "by": None,
              "drivers": ["ae_attendances"], "kind": "linear", "pseudo": [], "tune": False}
    refused = post(client, payload(need, [padded, 1], [padded]))
    assert refused.status_code == 400  # the explain request carries exactly its five fields
    plain = {k: padded[k] for k in ("metric", "area", "from", "to", "by")}
    issued = post(client, payload(need, [plain, 1], [plain]))
    assert issued.status_code == 200, issued.get_data(as_text=True)
    ticket = issued.get_json()["response"][aid.EXPLAIN_PENDING]["data"]
    assert ticket["purpose"] == "explain" and set(ticket["fields"]) == set(plain)
    fit = find(dependencies, f"..{aid.LAB_FIT_RESULT}")
    replay = post(client, payload(fit, [ticket]))
    assert replay.status_code == 403 and "another kind of job" in replay.get_data(as_text=True)
    # the fit request itself refuses the other department's driver
    request_fit = find(dependencies, f"..{aid.LAB_FIT_ERRORS}")
    asked = post(client, payload(request_fit, [1, 0], ["uc_caseload", ["driver:ae_attendances"], "linear", []]))
    assert asked.status_code == 403 and access.NO_DRIVER_ACCESS in asked.get_data(as_text=True)
    # another user's ticket is refused too
    other = post(signed_in("treasury"), payload(find(dependencies, aid.EXPLAIN_COMPUTED), [ticket]))
    assert other.status_code == 403 and "someone else" in other.get_data(as_text=True)


def test_a_model_cannot_be_fitted_on_a_driver_its_department_does_not_share(shell_store):
    from explain import ModelError, fit_driver_model

    with pytest.raises(ModelError, match=r"cannot use 'ae_attendances' \(DHSC\).*not shared with DWP"):
        fit_driver_model(shell_store, "uc_caseload", drivers=("ae_attendances",), kind="linear", activate=False)


# ----------------------------------------------------------------------------- finding 4
def test_shared_metrics_are_declared_in_the_manifest_and_kept_in_the_store(tmp_path):
    from loaders import Store
    from loaders.errors import ManifestError
    from loaders.manifest import parse_manifest

    text = """
[[department]]
code = "DWP"
name = "Work and Pensions"
[[department]]
code = "ONS"
name = "Statistics"
[[department]]
code = "DHSC"
name = "Health"
[[metric]]
code = "claimants"
name = "Claimant count"
department = "ONS"
shared = true
[[metric]]
code = "beds"
name = "Beds"
department = "DHSC"
shared = ["DWP"]
[[metric]]
code = "waits"
name = "Waits"
department = "DHSC"
[[metric]]
code = "caseload"
name = "Caseload"
department = "DWP"
[[model]]
metric = "caseload"
drivers = ["claimants", "beds"]
"""
    manifest = parse_manifest(text, base_dir=tmp_path)
    shared = {m.code: m.shared_with for m in manifest.metrics}
    assert shared == {"claimants": ("*",), "beds": ("DWP",), "waits": (), "caseload": ()}
    assert manifest.metric("beds").visible_to("DWP") and not manifest.metric("beds").visible_to("HO")
    assert manifest.metric("waits").visible_to(None) and not manifest.metric("waits").visible_to("DWP")
    with pytest.raises(ManifestError, match=r"driver 'waits' belongs to DHSC and is not shared with DWP"):
        parse_manifest(text.replace('drivers = ["claimants", "beds"]', 'drivers = ["claimants", "waits"]'),
                       base_dir=tmp_path)
    with pytest.raises(ManifestError, match="shared with department 'HMT', which is not declared"):
        parse_manifest(text.replace('shared = ["DWP"]', 'shared = ["HMT"]'), base_dir=tmp_path)
    store = Store(tmp_path / "s.db")
    with store.engine.begin() as conn:
        store.sync_manifest(conn, manifest)
    assert store.metric_shares() == {"claimants": frozenset({"*"}), "beds": frozenset({"DWP"})}
    unshared = parse_manifest(text.replace('shared = ["DWP"]', "").replace('drivers = ["claimants", "beds"]',
                                                                              'drivers = ["claimants"]'),
                              base_dir=tmp_path)
    with store.engine.begin() as conn:
        store.sync_manifest(conn, unshared)
    assert store.metric_shares() == {"claimants": frozenset({"*"})}  # the manifest is the truth


def test_driver_visibility_rule(shell_store):
    from explain import visible_driver_codes, visible_to

    assert visible_to("ONS", {"*"}, "DWP") and visible_to("DHSC", {"DWP"}, "DWP")
    assert not visible_to("DHSC", set(), "DWP") and visible_to("DHSC", set(), None) and visible_to("DWP", (), "DWP")
    dwp = visible_driver_codes(shell_store, "DWP")
    assert {"uc_caseload", "claimant_count", "population_16_64"} <= dwp  # its own, and ONS (shared = true)
    assert not {"ae_attendances", "pupils", "asylum_backlog"} & dwp


def test_a_driver_not_shared_with_the_reader_is_never_shown(shell_app, shell_store, signed_in, dependencies):
    """An older model whose driver is no longer shared: the DWP reader sees the components and
    segments but neither the driver split nor a narrative naming the drivers."""
    from sqlalchemy import delete, insert, select

    from dashapp import state
    from loaders import schema as s

    router = find(dependencies, ".._pages_content")
    with shell_store.engine.begin() as conn:
        saved = [dict(r._mapping) for r in conn.execute(select(s.metric_shares))]
        conn.execute(delete(s.metric_shares))
    try:
        state.invalidate()
        client = signed_in("dwp")
        shown = post(client, payload(router, ["/explain", "?metric=uc_caseload"]))
        text = shown.get_data(as_text=True)
        assert shown.status_code == 200 and "not shared with yours" in text
        for name in ("Claimant count", "Population aged 16-64", "claimant_count"):
            assert name not in text
        summary = post(client, payload(router, ["/", ""])).get_data(as_text=True)
        # the briefing's 'why' falls back to what the reader may see: the area that moved it most
        assert "Mostly West Midlands" in summary
        for name in ("Claimant count", "claimant count", "Population aged 16-64", "claimant_count"):
            assert name not in summary
        treasury = post(signed_in("treasury"), payload(router, ["/explain", "?metric=uc_caseload"]))
        assert "not shared with yours" not in treasury.get_data(as_text=True)
    finally:
        with shell_store.engine.begin() as conn:
            conn.execute(insert(s.metric_shares), saved)
        state.invalidate()
    shared = post(signed_in("dwp"), payload(router, ["/explain", "?metric=uc_caseload"])).get_data(as_text=True)
    assert "not shared with yours" not in shared


# ----------------------------------------------------------------------------- finding 2
class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['WHYTREND_PROBE_MARKER']}",))


def test_job_results_are_json_and_a_planted_pickle_is_refused(tmp_path, monkeypatch):
    import diskcache
    from dash import html

    from dashapp.job_queue import make_manager
    from dashapp.settings import Settings

    folder = tmp_path / "jobs"
    manager = make_manager(Settings(db=f"sqlite:///{tmp_path / 'store.db'}", cache_dir=folder))
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    manager.handle.set("result", [html.Div("ready", id="x"), {"width": "50%"}, None])
    assert manager.handle.get("result") == [{"props": {"children": "ready", "id": "x"}, "type": "Div",
                                             "namespace": "dash_html_components"}, {"width": "50%"}, None]
    marker = tmp_path / "pwned"
    monkeypatch.setenv("WHYTREND_PROBE_MARKER", str(marker))
    attacker = diskcache.Cache(str(folder))  # the default Disk pickles
    attacker.set("planted", _Exploit())
    with pytest.raises(ValueError, match="refusing a pickled entry"):
        manager.handle.get("planted")
    assert not marker.exists()


def test_the_job_folder_must_be_private(tmp_path):
    from dashapp.jobs import UnsafeJobFolder, private_dir

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert private_dir(shared) == shared and oct(shared.stat().st_mode & 0o777) == "0o700"  # tightened
    if os.getuid() != 0:
        pytest.skip("changing a folder's owner needs root")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    with pytest.raises(UnsafeJobFolder, match="belongs to another user"):
        private_dir(theirs)
    open_parent = tmp_path / "open"
    open_parent.mkdir()
    os.chown(open_parent, 65534, 65534)
    with pytest.raises(UnsafeJobFolder, match="could be swapped"):
        private_dir(open_parent / "jobs")


# ----------------------------------------------------------------------------- finding 7
def test_a_job_handle_answers_only_the_user_who_started_it(shell_app, signed_in, dependencies):
    owner, other = signed_in("treasury"), signed_in("analyst")
    need = find(dependencies, aid.EXPLAIN_PENDING)
    request = {"metric": "uc_caseload", "area": "E12000002", "from": "2018-03", "to": "2019-03", "by": None}
    ticket = post(owner, payload(need, [request, 1], [request])).get_json()["response"][aid.EXPLAIN_PENDING]["data"]
    compute = find(dependencies, aid.EXPLAIN_COMPUTED)
    started = post(owner, payload(compute, [ticket]))
    assert started.status_code == 200
    handles = started.get_json()
    assert {"cacheKey", "job"} <= set(handles)
    end_id = ""  # the test client sends no endId: Dash signs the handles for the empty page-load id
    query = f"?cacheKey={handles['cacheKey']}&job={handles['job']}&endId={end_id}"
    assert post(other, payload(compute, [ticket]), query).status_code == 403  # not their ticket
    theirs = post(other, payload(need, [request, 1], [request])).get_json()["response"][aid.EXPLAIN_PENDING]["data"]
    stolen = post(other, payload(compute, [theirs]), query)  # their own ticket, the owner's job handles
    assert stolen.status_code == 403 and "started by someone else" in stolen.get_data(as_text=True)
    forged = post(owner, payload(compute, [ticket]), "?cacheKey=deadbeef~00&job=1~00")
    assert forged.status_code == 403
    deadline = time.time() + 120
    while time.time() < deadline:
        polled = post(owner, payload(compute, [ticket]), query)
        assert polled.status_code in (200, 204)
        body = polled.get_json() if polled.status_code == 200 else {}
        if body.get("response"):
            assert body["response"][aid.EXPLAIN_COMPUTED]["data"] == {"key": request, "done": True}
            break
        time.sleep(0.5)
    else:
        pytest.fail("the background explanation did not finish")


# ----------------------------------------------------------------------------- malformed and headers
@pytest.mark.parametrize("body", [
    [], "text", {"output": 1}, {"output": "nope.children", "inputs": []},
    {"output": aid.EXPLAIN_PENDING + ".data", "inputs": "x"},
    {"output": aid.EXPLAIN_PENDING + ".data", "inputs": [{"id": "explain-request"}]},
    {"output": aid.EXPLAIN_PENDING + ".data", "inputs": [], "state": []},
])
def test_malformed_callback_payloads_get_400(shell_app, signed_in, dependencies, body):
    response = post(signed_in("treasury"), body)
    assert response.status_code == 400 and "malformed" in response.get_data(as_text=True)


def test_a_deeply_nested_payload_gets_400_not_a_server_error(signed_in, dependencies):
    deep = "[" * 100_000 + "]" * 100_000
    response = signed_in("treasury").post("/_dash-update-component", data=deep, headers=HEADERS)
    assert response.status_code == 400


def test_every_field_of_every_callback_has_a_rule(shell_app, dependencies):
    """A new control without an allow-list rule would be refused for everyone: catch it here."""
    missing = []
    for dep in dependencies:
        for item in [*dep["inputs"], *dep["state"]]:
            ident = json.loads(item["id"])["type"] if item["id"].startswith("{") else item["id"]
            if (ident, item["property"]) not in access.RULES:
                missing.append((ident, item["property"]))
    assert missing == []


def test_content_security_policy_allows_scripts_from_self_only(signed_in):
    client = signed_in("treasury")
    client.get("/")
    policy = client.get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'self'"
    scripts = directives["script-src"].split()
    assert scripts[0] == "'self'" and all(s.startswith("'sha256-") for s in scripts[1:]) and len(scripts) > 1
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
