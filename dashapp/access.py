"""Who may send which callback: every ``/_dash-update-component`` request checked field by field.

The browser is not trusted with anything. For every callback request the server's guard
(:func:`check_callback`) checks, from the user's session:

1. **Shape**: the request names a callback this app has, with exactly the inputs and states
   that callback declares (ids and properties), else 400. Malformed payloads never reach Dash.
2. **Role**: ids starting ``lab-`` need an analyst and ``upload-`` an admin, else 403.
3. **Every field by its rule** (:data:`RULES`, an allow-list keyed by component id and property):
   a metric must be one the user may see, a driver one the user may see *as a driver*
   (:mod:`explain.sharing`), a choice one of its options, a job ticket one issued by this server
   for that purpose to this user, with its fields re-checked the same way; text is bounded.
   A field with no rule is refused (400): a new control needs a rule before it can be used.

Refusals: 403 for a field the user may not use, 400 for one that is malformed. The pages still
check what they read (defence in depth), but the guard alone is enough to keep a department's
figures from another department's users.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import analysis_ids as aid
from . import ids
from .auth import NO_METRIC_ACCESS, has_role

log = logging.getLogger(__name__)

NO_DRIVER_ACCESS = "You do not have access to this driver: it belongs to a department that does not share it with yours."
ROLE_PREFIXES = (("upload-", "admin"), ("lab-", "analyst"))
MAX_TEXT = 200
MAX_LIST = 50
MAX_JSON_BYTES = 2_000_000


class Refusal(Exception):
    """A callback request the guard refuses: ``status`` 400 (malformed) or 403 (not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """What the guard knows of the user making a request."""

    username: str
    role: str
    metrics: frozenset[str]          # metric codes the user may see (pages, explanations)
    drivers: frozenset[str]          # metric codes the user may see as drivers
    known: frozenset[str]            # every metric code in the store
    ticket_key: bytes


Rule = Callable[[Any, Viewer], None]


def _bad(what: str) -> Refusal:
    return Refusal(400, f"The request is malformed: {what}.")


# ------------------------------------------------------------------------------ field rules
def count(value: Any, viewer: Viewer) -> None:
    """n_clicks / n_intervals: a non-negative whole number or nothing."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise _bad("a click count must be a whole number")


def text(limit: int = MAX_TEXT) -> Rule:
    def rule(value: Any, viewer: Viewer) -> None:
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise _bad(f"expected text of at most {limit} characters")
    return rule


def one_of(*options: str | None) -> Rule:
    def rule(value: Any, viewer: Viewer) -> None:
        if value not in options:
            raise _bad(f"'{str(value)[:40]}' is not one of the choices")
    return rule


def metric(value: Any, viewer: Viewer) -> None:
    """A metric the user may see (or nothing)."""
    if value is None or value == "":
        return
    if not isinstance(value, str) or len(value) > 64:
        raise _bad("a metric must be a metric code")
    if value not in viewer.metrics:
        raise Refusal(403, NO_METRIC_ACCESS)


def metric_values(value: Any, viewer: Viewer) -> None:
    """The values of one metric radio per department (pattern-matching ALL): each a metric or nothing."""
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise _bad("expected a list of metric choices")
    for item in value:
        metric(item, viewer)


def driver(value: Any, viewer: Viewer) -> None:
    """A driver the user may see (or nothing)."""
    if value is None or value == "":
        return
    if not isinstance(value, str) or len(value) > 64:
        raise _bad("a driver must be a metric code")
    if value not in viewer.drivers:
        raise Refusal(403, NO_DRIVER_ACCESS if value in viewer.known else NO_METRIC_ACCESS)


def driver_tokens(value: Any, viewer: Viewer) -> None:
    """The Model lab's driver checklist: ``driver:CODE`` tokens of drivers the user may see."""
    if value is None:
        return
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise _bad("expected a list of drivers")
    for token in value:
        if not isinstance(token, str) or not token.startswith("driver:"):
            raise _bad("a driver choice must be 'driver:CODE'")
        driver(token.split(":", 1)[1], viewer)


def subset_of(*options: str) -> Rule:
    def rule(value: Any, viewer: Viewer) -> None:
        if value is None:
            return
        if not isinstance(value, list) or any(v not in options for v in value):
            raise _bad(f"expected some of {', '.join(options)}")
    return rule


def text_list(limit: int = 64, most: int = MAX_LIST) -> Rule:
    def rule(value: Any, viewer: Viewer) -> None:
        if value is None:
            return
        if not isinstance(value, list) or len(value) > most or any(
                not isinstance(v, str) or len(v) > limit for v in value):
            raise _bad("expected a short list of codes")
    return rule


def version(value: Any, viewer: Viewer) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit()
                                                                   and len(value) < 10)):
        raise _bad("a model version must be a whole number")


def pattern_ids(page_type: str) -> Rule:
    """The ``id`` state of a pattern-matching group: ``{"type": page_type, "dept": CODE}`` items."""
    def rule(value: Any, viewer: Viewer) -> None:
        if not isinstance(value, list) or len(value) > MAX_LIST or any(
                not isinstance(v, dict) or set(v) != {"type", "dept"} or v["type"] != page_type
                or not isinstance(v["dept"], str) or len(v["dept"]) > 32 for v in value):
            raise _bad("unexpected component ids")
    return rule


def shaped(fields: Mapping[str, Rule], *, required: bool = False, optional: frozenset[str] = frozenset()) -> Rule:
    """A dict (``dcc.Store`` data) with exactly ``fields`` (each checked by its rule; those in
    ``optional`` may be left out), or nothing."""
    def rule(value: Any, viewer: Viewer) -> None:
        if value is None:
            return
        keys = set(value) if isinstance(value, dict) else set()
        wrong = not keys <= set(fields) or (required and not set(fields) - optional <= keys)
        if not isinstance(value, dict) or wrong:
            raise _bad(f"expected the fields {', '.join(sorted(fields))}")
        for key, item in value.items():
            fields[key](item, viewer)
    return rule


def path(value: Any, viewer: Viewer) -> None:
    """A page's path: text starting with '/' (Dash's router refuses anything else with a server error)."""
    text(2048)(value, viewer)
    if value is not None and not value.startswith("/"):
        raise _bad("a page path must start with '/'")


def bounded_json(limit: int = MAX_JSON_BYTES) -> Rule:
    def rule(value: Any, viewer: Viewer) -> None:
        if value is not None and len(json.dumps(value, default=str)) > limit:
            raise _bad("the data is too large")
    return rule


EXPLAIN_REQUEST = {"metric": metric, "area": text(64), "from": text(32), "to": text(32), "by": text(64),
                   "vs": text(64), "measure": text(16), "cross": one_of(True, False, None)}
#: a comparison with a plan, forecast or first-published figure, and the measure, are optional (the
#: background job's request has only the five others: dashapp.pages.explain.JOB_KEYS)
explain_request = shaped(EXPLAIN_REQUEST, required=True, optional=frozenset({"vs", "measure", "cross"}))


def explain_computed(value: Any, viewer: Viewer) -> None:
    """What the explain job wrote back: the request it worked on, and done or an error text."""
    shaped({"key": explain_request, "done": one_of(True), "error": text(2000)})(value, viewer)


def ticket(purpose: str) -> Rule:
    """A job ticket issued by this server, for ``purpose``, to this user; its fields re-checked."""
    def rule(value: Any, viewer: Viewer) -> None:
        if value is None:
            return
        from .jobs import JobRefused, open_ticket

        try:
            fields = open_ticket(viewer.ticket_key, purpose, value, username=viewer.username)
        except JobRefused as exc:
            raise Refusal(403, str(exc)) from None
        check_job_fields(purpose, fields, viewer)
    return rule


def check_job_fields(purpose: str, fields: Mapping[str, Any], viewer: Viewer) -> None:
    """Re-check a ticket's fields for ``viewer`` (the guard, and the job in its own process)."""
    if purpose == "explain":
        explain_request(dict(fields), viewer)
    elif purpose == "fit":
        metric(fields["metric"], viewer)
        if not isinstance(fields["drivers"], list):
            raise _bad("drivers must be a list")
        for code in fields["drivers"]:
            driver(code, viewer)
        one_of("linear", "gradient_boosting")(fields["kind"], viewer)
        subset_of("trend", "seasonality")(fields["pseudo"], viewer)
        one_of(True, False)(fields["tune"], viewer)
    elif purpose == "activate":
        metric(fields["metric"], viewer)
        version(fields["version"], viewer)
    if not fields.get("metric"):
        raise _bad("a job needs a metric")


def upload_contents(value: Any, viewer: Viewer) -> None:
    if value is not None and (not isinstance(value, str) or not value.startswith("data:")):
        raise _bad("an upload must be a data URL")


lab_marker = shaped({"metric": metric, "version": version}, required=True)
upload_pending = shaped({"token": text(64), "file": text(260), "source": text(128), "filename": text(260)})
card_data = shaped({"columns": bounded_json(), "rows": bounded_json(), "filename": text(200)})

def _selection_rules(metric_group: str, metric_store: str, area: str, start: str, end: str) -> dict:
    """The rules of the controls Trends and Explain share: metric radios, area picker, periods."""
    return {(metric_group, "value"): metric_values, (metric_group, "id"): pattern_ids(metric_group),
            (metric_store, "data"): metric, (ids.area_scope(area), "value"): one_of("whole", "area", None),
            (ids.area_search(area), "value"): text(), (start, "value"): text(40), (end, "value"): text(40)}


#: (component id, or a pattern id's ``type``; property) -> rule. Anything else is refused.
RULES: dict[tuple[str, str], Rule] = {
    # shared chart cards
    (ids.CARD_DOWNLOAD_BUTTON, "n_clicks"): count,
    (ids.CARD_DATA, "data"): card_data,
    # Dash pages' router (its layouts are wrapped by auth.guard_layout, which checks the URL's metric)
    ("_pages_location", "pathname"): path,
    ("_pages_location", "search"): text(4096),
    ("_pages_store", "data"): bounded_json(10_000),
    # Trends
    **_selection_rules(aid.TRENDS_METRIC, aid.TRENDS_METRIC_STORE, aid.TRENDS_AREA, aid.TRENDS_FROM, aid.TRENDS_TO),
    (aid.TRENDS_VINTAGE, "value"): one_of("latest", "first", None),
    (aid.TRENDS_COMPARE, "value"): text_list(),
    (aid.TRENDS_MEASURE, "value"): one_of("cash", "real", "per_head", None),
    # Explain
    **_selection_rules(aid.EXPLAIN_METRIC, aid.EXPLAIN_METRIC_STORE, aid.EXPLAIN_AREA, aid.EXPLAIN_FROM,
                       aid.EXPLAIN_TO),
    (aid.EXPLAIN_COMPARISON, "value"): one_of("previous", "year", "custom", None),
    (aid.EXPLAIN_APPLY, "n_clicks"): count,
    (aid.EXPLAIN_BY, "value"): text(64),
    (aid.EXPLAIN_VS, "value"): text(64),
    (aid.EXPLAIN_MEASURE, "value"): one_of("cash", "real", "per_head", None),
    (aid.EXPLAIN_CROSS, "value"): subset_of("cross"),
    (aid.EXPLAIN_REQUEST, "data"): explain_request,
    (aid.EXPLAIN_COMPUTED, "data"): explain_computed,
    (aid.EXPLAIN_PENDING, "data"): ticket("explain"),
    (aid.EXPLAIN_KICK, "n_intervals"): count,
    (aid.EXPLAIN_CANCEL, "n_clicks"): count,
    # Model lab
    (aid.LAB_METRIC, "value"): metric,
    (aid.LAB_DRIVERS, "value"): driver_tokens,
    (aid.LAB_KIND, "value"): one_of("linear", "gradient_boosting", None),
    (aid.LAB_PSEUDO, "value"): subset_of("trend", "seasonality"),
    (aid.LAB_FIT, "n_clicks"): count,
    (aid.LAB_TUNE, "n_clicks"): count,
    (aid.LAB_CANCEL, "n_clicks"): count,
    (aid.LAB_FIT_REQUEST, "data"): ticket("fit"),
    (aid.LAB_FITTED, "data"): lab_marker,
    (aid.LAB_VERSION, "value"): version,
    (aid.LAB_ACTIVATE, "n_clicks"): count,
    (aid.LAB_ACTIVATE_CANCEL, "n_clicks"): count,
    (aid.LAB_ACTIVATE_ANYWAY, "n_clicks"): count,
    (aid.LAB_ACTIVATE_REQUEST, "data"): ticket("activate"),
    (aid.LAB_ACTIVATED, "data"): lab_marker,
    (aid.LAB_PD_DRIVER, "value"): driver,
    # a job's result shown: only a trigger for the jobs table (the value is not read)
    (aid.LAB_FIT_RESULT, "children"): bounded_json(100_000),
    (aid.LAB_ACTIVATE_RESULT, "children"): bounded_json(100_000),
    # Data page upload (admin)
    (ids.UPLOAD_FILE, "contents"): upload_contents,
    (ids.UPLOAD_FILE, "filename"): text(260),
    (ids.UPLOAD_SOURCE, "value"): text(128),
    (ids.UPLOAD_PENDING, "data"): upload_pending,
    (ids.UPLOAD_LOAD, "n_clicks"): count,
    (ids.UPLOAD_CONFIRM, "n_clicks"): count,
}


# ------------------------------------------------------------------------------- the check
def check_callback(payload: Any, viewer: Viewer, callback_map: Mapping[str, dict]) -> None:
    """Raise :class:`Refusal` unless ``viewer`` may send this callback request (see the module doc)."""
    if not isinstance(payload, dict):
        raise _bad("a callback request must be a JSON object")
    output = payload.get("output")
    declared = callback_map.get(output) if isinstance(output, str) else None
    if declared is None or "callback" not in declared:  # unknown, or a clientside callback
        raise _bad("no such callback")
    items: list[tuple[str, str, Any]] = []
    for key in ("inputs", "state"):
        sent = payload.get(key, [] if key == "state" else None)
        wanted = declared.get(key, [])
        if not isinstance(sent, list) or len(sent) != len(wanted):
            raise _bad(f"the {key} do not match the callback")
        for spec, item in zip(wanted, sent):
            items.extend(_matched(spec, item))
    for ident in _all_ids(payload):
        for prefix, role in ROLE_PREFIXES:
            if re.search(r'(?:^|[."])' + re.escape(prefix), ident) and not has_role(viewer, role):
                raise Refusal(403, f"This needs the {role} role.")
    for ident, prop, value in items:
        rule = RULES.get((ident, prop))
        if rule is None:
            raise _bad(f"the field {ident}.{prop} is not accepted")
        rule(value, viewer)


def _matched(spec: dict, item: Any) -> list[tuple[str, str, Any]]:
    """(id key, property, value) of a payload item that matches the declared ``spec``: a plain id
    is one item; a pattern id with ALL/ALLSMALLER is a list (its values checked as one list); with
    MATCH, one item."""
    declared_id, prop = spec["id"], spec["property"]
    if not declared_id.startswith("{"):
        if not isinstance(item, dict) or item.get("id") != declared_id or item.get("property") != prop:
            raise _bad("an input does not match the callback")
        return [(declared_id, prop, item.get("value"))]
    pattern = json.loads(declared_id)
    many = any(v in (["ALL"], ["ALLSMALLER"]) for v in pattern.values())
    group = item if many else [item]
    if not isinstance(group, list) or len(group) > MAX_LIST:
        raise _bad("a pattern-matching input must be a list")
    values = []
    for one in group:
        if not isinstance(one, dict) or one.get("property") != prop or not _id_matches(one.get("id"), pattern):
            raise _bad("an input does not match the callback")
        values.append(one.get("id") if prop == "id" else one.get("value"))
    return [(pattern["type"], prop, values if many else values[0])]


def _all_ids(payload: dict) -> list[str]:
    """The output and every input/state id of a request as text (pattern ids as JSON)."""
    out = [payload["output"]]
    for key in ("outputs", "inputs", "state"):
        stack = [payload.get(key)]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict) and "id" in node:
                ident = node["id"]
                out.append(ident if isinstance(ident, str) else json.dumps(ident, sort_keys=True, default=str))
    return out


def _id_matches(ident: Any, pattern: dict) -> bool:
    if not isinstance(ident, dict) or set(ident) != set(pattern):
        return False
    for key, want in pattern.items():
        if isinstance(want, list):  # a wildcard (ALL / MATCH / ALLSMALLER)
            if not isinstance(ident[key], (str, int)) or isinstance(ident[key], bool):
                return False
        elif ident[key] != want:
            return False
    return True

