"""Data ("/data?source=ID"): where the numbers come from and how good they are.

Analysts and admins (read only): every source with its latest vintage, quality grade and the
reasons; a source's vintage history (counts, revisions, grades) and its quarantined rows.
Department-scoped users see their department's sources only.

Admins also see who can sign in (accounts are managed with ``whytrend users``) and upload a new
file for an existing source: the file is validated first and the whole
report is shown (every problem with row, column and value) before anything is written; "Load this
file" then loads it as a new vintage in one transaction (a failed load writes nothing and shows
its report) and refreshes the precomputed explanations of the metrics it touched. Uploads are
untrusted: one over the size limit is refused before it is decoded, it is decoded to disk in blocks
under a generated name (never the source id or file name) in a random private folder, and the check
applies the readers' limits (rows, columns, cells, unzipped size; see ``loaders.limits``).
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import shutil
import time
from pathlib import Path

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from dashapp import analysis_components as ac
from dashapp import auth, ids, state
from dashapp import presenters_data as pdata
from dashapp.components import card_table, error_boundary, message, page_header, radio_fieldset, summary_list
from dashapp.presenters import date_text, grade_reasons, problem_rows, source_from_spec, upload_suffix
from loaders.errors import AccessDenied, LimitError, ReadError

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/data", name="Data", title="Data – whytrend", order=60, role="analyst",
                   description="Sources, vintages, quality grades and quarantined rows; uploads for admins.")

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
#: Uploads are saved under a name of our own, never one derived from the source id or the file name.
UPLOAD_NAME_RE = re.compile(r"^upload\.(csv|xlsx|ods|json)$")
UPLOAD_MAX_AGE_S = 24 * 3600
#: Characters of base64 decoded at a time (a multiple of 4): the decoded file is never whole in memory.
B64_BLOCK = 4 * 1024 * 1024


# ------------------------------------------------------------------------------ reads
@state.cached(lambda: "sources")
def _sources() -> pd.DataFrame:
    return state.get_store().sources_frame()


def visible_sources() -> pd.DataFrame:
    """The sources the current user may see (their department's, or all)."""
    frame = _sources()
    if frame.empty:
        return frame
    keep = [auth.visible_department(d) for d in frame["department"]]
    return frame[keep].reset_index(drop=True)


def sources_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Source": frame["source"], "Title": frame["title"], "Department": frame["department"],
        "Format": frame["format"],
        "Latest vintage": [None if pd.isna(v) else int(v) for v in frame["vintage"]],
        "Loaded": [date_text(v) if isinstance(v, str) else "never" for v in frame["loaded_at"]],
        "Values": frame["rows_loaded"], "Quarantined rows": frame["rows_quarantined"],
        "Revised values": frame["values_revised"], "Grade": frame["grade"].fillna("–"),
        "Grade reasons": ["; ".join(grade_reasons(r)) or "None" for r in frame["grade_reasons"]],
        "Periods": [f"{a} to {b}" if isinstance(a, str) and isinstance(b, str) else ""
                    for a, b in zip(frame["period_min"], frame["period_max"])],
    })


def history_table(loads: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Vintage": loads["id"],
        "Loaded": [date_text(f if isinstance(f, str) else s) for f, s in zip(loads["finished_at"], loads["started_at"])],
        "Status": loads["status"], "Rows read": loads["rows_read"], "Values written": loads["rows_loaded"],
        "New": loads["values_new"], "Revised": loads["values_revised"], "Withdrawn": loads["values_withdrawn"],
        "Quarantined rows": loads["rows_quarantined"], "Grade": loads["grade"],
        "Grade reasons": ["; ".join(grade_reasons(r)) or "None" for r in loads["grade_reasons"]],
        "File SHA-256": [str(s)[:12] for s in loads["file_sha256"]],
    })


def quarantine_table(frame: pd.DataFrame) -> pd.DataFrame:
    def cells(raw: str) -> str:
        try:
            values = json.loads(raw or "{}")
        except ValueError:
            return str(raw)
        return "; ".join(f"{k} = {v}" for k, v in values.items()) if isinstance(values, dict) else str(values)

    return pd.DataFrame({
        "Vintage": frame["load_id"], "Row": frame["row_number"],
        "Sheet": frame["sheet"].fillna("") if "sheet" in frame else "",
        "Reasons": ["; ".join(grade_reasons(r)) for r in frame["reasons"]],
        "Raw cells": [cells(r) for r in frame["raw"]],
    })


# ------------------------------------------------------------------------------ layout
def layout(source: str | None = None, **_query):
    user = auth.current_user()
    frame = visible_sources()
    parts = [page_header("Data", "Where the numbers come from: every source with its latest vintage and quality "
                                 "grade, each source's vintage history and the rows set aside as unreadable.")]
    if frame.empty:
        parts.append(message("No sources have been loaded yet.", "info"))
    else:
        table = sources_table(frame)
        parts += [html.H2("Sources"), card_table(table, caption="Sources with their latest vintage and grade")]
        parts.append(html.H2("Vintage history", id="history"))
        parts.append(html.Nav(html.Ul([html.Li(_source_link(row, current=row.source == source))
                                       for row in frame.itertuples()], className="link-list"),
                              **{"aria-label": "Vintage history of a source"}))
        chosen = source if source in set(frame["source"]) else None
        if source and chosen is None:
            parts.append(message(f"There is no source '{source}' that you can see. Choose one from the list.",
                                 "error"))
        parts.append(_history(chosen) if chosen else
                     html.P("Choose a source to see its vintage history and quarantined rows."))
    if auth.has_role(user, "admin"):
        parts += [html.Hr(className="section-rule"), _upload_section(frame), _users_section(user)]
    return html.Div(parts, className="page")


def _source_link(row, *, current: bool):
    text, href = f"{row.title} ({row.source})", f"/data?source={row.source}#history"
    return html.A(text, href=href, **{"aria-current": "page"}) if current else dcc.Link(text, href=href)


def _history(source: str) -> html.Div:
    store = state.get_store()
    loads = store.loads_frame(source)
    if loads.empty:
        return html.Div(html.P(f"{source} has not been loaded yet."))
    parts = [html.H3(f"Vintages of {source}"),
             card_table(history_table(loads), caption=f"Every load of {source}, oldest first")]
    quarantined = pd.concat([store.quarantine_frame(int(load_id)) for load_id in loads["id"]], ignore_index=True)
    parts.append(html.H3(f"Quarantined rows of {source}"))
    if quarantined.empty:
        parts.append(html.P("No rows were quarantined."))
    else:
        parts.append(card_table(quarantine_table(quarantined),
                                caption=f"Rows of {source} set aside, with the reasons and the cells as read"))
    return html.Div(parts)


def _upload_section(frame: pd.DataFrame) -> html.Section:
    if frame.empty:
        return html.Section([html.H2("Upload a new file"),
                             html.P("Load a manifest with the command line first: uploads replace files of existing "
                                    "sources.")])
    options = [{"label": f"{row.title} ({row.source}, {row.format})", "value": row.source} for row in frame.itertuples()]
    return html.Section([
        html.H2("Upload a new file", id="upload-heading"),
        html.P("Upload a new version of an existing source's file. It is checked first and nothing is written "
               "until you choose to load it; the load is then one transaction and creates a new vintage."),
        radio_fieldset(ids.UPLOAD_SOURCE, "Which source is the file for?", options, options[0]["value"]),
        dcc.Upload(
            id=ids.UPLOAD_FILE,
            children=html.Div([
                html.P("Drag and drop the file here, or"),
                html.Button("Choose a file", type="button", className="button button--secondary"),
                html.P(f"CSV, Excel (.xlsx), OpenDocument (.ods) or JSON; up to {upload_limit_mb():g} MB.",
                       className="fieldset__hint"),
            ]),
            max_size=int(upload_limit_mb() * 1024 * 1024), multiple=False, className="upload-zone",
            accept=".csv,.xlsx,.ods,.json,text/csv,application/json",
        ),
        dcc.Loading(html.Div(id=ids.UPLOAD_REPORT, **{"aria-live": "polite"}), type="default"),
        dcc.Store(id=ids.UPLOAD_PENDING),
        html.Button("Load this file", id=ids.UPLOAD_LOAD, type="button", className="button", disabled=True,
                    n_clicks=0),
        html.Div(id=ids.UPLOAD_RESULT, **{"aria-live": "polite"}),
        html.Button("Withdraw them and load this file", id=ids.UPLOAD_CONFIRM, type="button",
                    className="button button--warning", hidden=True, n_clicks=0),
    ], **{"aria-labelledby": "upload-heading"})


def _users_section(user) -> html.Section:
    """Who can sign in (read only; accounts are managed with ``whytrend users``)."""
    from loaders.accounts import list_users

    users = [u for u in list_users(state.get_store()) if user.department is None or u.department == user.department]
    table = pd.DataFrame({"User": [u.username for u in users], "Role": [u.role for u in users],
                          "Department": [u.department or "All departments" for u in users]})
    return html.Section([
        html.H2("Users", id="users-heading"),
        html.P(["Add, change or remove accounts on the server with ", html.Code("whytrend users add NAME --role ROLE "
                "[--department CODE]"), " and ", html.Code("whytrend users remove NAME"), "."]),
        card_table(table, caption="People who can sign in, with their role and department"),
    ], **{"aria-labelledby": "users-heading"})


# ------------------------------------------------------------------------------ upload
def _uploads_dir() -> Path:
    folder = state.settings().cache_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _clean_old_uploads(folder: Path) -> None:
    cutoff = time.time() - UPLOAD_MAX_AGE_S
    for child in folder.iterdir():
        try:
            if child.is_dir() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            pass


def _source_for(source_id: str | None):
    """The manifest Source of a stored source the current admin may change (AccessDenied otherwise)."""
    from explain import source_spec

    auth.require_role("admin")
    frame = visible_sources()
    if not source_id or source_id not in set(frame["source"]):
        raise AccessDenied("You do not have access to that source.")
    spec = source_spec(state.get_store(), source_id)
    return source_from_spec(spec, source_id=source_id), spec


def _manifest_for(folder: Path):
    """A manifest with the store's metrics (validation checks metric codes and units against it)."""
    from explain import list_metrics
    from loaders.manifest import Manifest, Metric

    metrics = tuple(Metric(code=m.code, name=m.name, department=m.department, unit=m.unit,
                           aggregation=m.aggregation, higher_is_better=m.higher_is_better, formula=m.formula,
                           description=m.description) for m in list_metrics(state.get_store()))
    return Manifest(path=folder / "upload.toml", metrics=metrics)


def _payload(contents: str) -> int:
    """Where the base64 of a ``dcc.Upload`` data URL starts (after ``data:...;base64,``)."""
    comma = contents.find(",", 0, 512)
    if comma < 0 or ";base64" not in contents[:comma]:
        raise ReadError("The file could not be read from the upload; choose it again.")
    return comma + 1


def upload_size(contents: str) -> int:
    """Bytes a data URL decodes to, from its length alone (nothing is decoded)."""
    start = _payload(contents)
    length = len(contents) - start
    padding = len(contents[-2:]) - len(contents[-2:].rstrip("=")) if length else 0
    return length // 4 * 3 - padding


def upload_limit_mb() -> float:
    """Largest upload in MB: the app's ``max_upload_mb``, and never more than ``WHYTREND_MAX_FILE_MB``
    (a bad WHYTREND_* value is reported by the check of the file itself, not here)."""
    from loaders.errors import ConfigError
    from loaders.limits import Limits

    try:
        file_mb = Limits.from_env().max_file_mb
    except ConfigError as exc:
        log.warning("%s", exc)
        file_mb = Limits().max_file_mb
    return min(float(state.settings().max_upload_mb), file_mb)


def check_upload_size(contents: str, shown: str) -> None:
    """Refuse an upload over :func:`upload_limit_mb` before any of it is decoded or written."""
    from loaders.limits import MB, megabytes

    size, limit = upload_size(contents), upload_limit_mb()
    if size > limit * MB:
        raise LimitError(
            f"{shown} is {megabytes(size)}, over the upload limit of {limit:g} MB; nothing was saved. Load "
            "files that large on the server with `whytrend load` (the limit is the app's max_upload_mb setting, "
            "and at most WHYTREND_MAX_FILE_MB)."
        )


def decode_upload(contents: str) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL (small uploads; :func:`save_upload` streams to disk)."""
    return b"".join(_decoded_blocks(contents))


def _decoded_blocks(contents: str):
    """The decoded bytes of a data URL, :data:`B64_BLOCK` characters at a time."""
    start = _payload(contents)
    if (len(contents) - start) % 4:
        raise ReadError("The file could not be read from the upload (it arrived incomplete); choose it again.")
    for offset in range(start, len(contents), B64_BLOCK):
        try:
            yield base64.b64decode(contents[offset : offset + B64_BLOCK], validate=True)
        except (ValueError, binascii.Error):
            raise ReadError("The file could not be read from the upload; choose it again.") from None


def _tidy(value, path: str, shown: str):
    """Replace the private upload path by the user's file name in a report (dicts, lists, text)."""
    if isinstance(value, str):
        return value.replace(path, shown)
    if isinstance(value, dict):
        return {k: _tidy(v, path, shown) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v, path, shown) for v in value]
    return value


def report_view(report: dict, changes=None) -> html.Div:
    """A validation report as a summary and a table of every problem kept (row, column, value); what a
    report says once for all its problems of a kind (the accepted spellings of a period) follows it.
    ``changes``: what loading the file would change (:func:`changes_view`), shown before the problems."""
    counts = report.get("counts", {})
    failed = any(p.get("severity") == "structural" for p in report.get("problems", []))
    items = [("Rows read", f"{report.get('rows_read', 0):,}"),
             ("Rows that would be quarantined", f"{report.get('rows_quarantined', 0):,}"),
             ("Problems", ", ".join(f"{n:,} {code}" for code, n in sorted(counts.items())) or "None")]
    parts = [
        message("This file cannot be loaded: fix the problems below and upload it again. Nothing has been written."
                if failed else "The file can be loaded. Check what it would change and the problems below (if "
                               "any), then choose \"Load this file\". Nothing has been written yet.",
                "error" if failed else "success", title="Check before loading"),
        summary_list(items),
    ]
    if changes is not None:
        parts.append(changes)
    rows = problem_rows(report)
    if rows:
        table = pd.DataFrame(rows).rename(columns=str.capitalize)
        parts.append(html.Div(card_table(table, caption="Every problem found, with the row, column and value",
                                         row_headers=False), className="upload-problems"))
        shown = len(rows)
        total = sum(counts.values())
        if total > shown:
            parts.append(html.P(f"{shown:,} of {total:,} problems are listed; the counts above cover all of them."))
    parts += [html.P(hint, className="report-hint") for hint in (report.get("hints") or {}).values()]
    return html.Div(parts)


def changes_view(outcome) -> html.Div:
    """What loading the checked file would change: counts, then the values revised, withdrawn and new
    (the first of each), with the value now and the value in the file."""
    metric_names = {code: name for code, name in ac.metric_names().items()}
    tree = ac.area_tree()
    area_names = {code: tree.name(code) for code in tree.by_code}
    parts: list = [html.H3("What loading this file would change"), html.P(pdata.change_counts(outcome))]
    if outcome.needs_confirmation:
        parts.append(message(f"It would withdraw {outcome.values_withdrawn:,} values, more than a partial or wrong "
                             "file should: loading it will ask you to confirm the withdrawals.", "warning"))
    for kind, heading, meaning in pdata.KINDS:
        frame = outcome.changes.get(kind)
        if frame is None or frame.empty:
            continue
        caption = f"{heading} ({len(frame):,}): {meaning}"
        if len(frame) > pdata.SHOWN:
            caption += f"; the first {pdata.SHOWN} are listed"
        parts.append(card_table(pdata.changes_table(frame, metric_names=metric_names, area_names=area_names),
                                caption=caption, row_headers=False))
    return html.Div(parts, className="upload-changes")


@callback(
    Output(ids.UPLOAD_REPORT, "children"),
    Output(ids.UPLOAD_PENDING, "data"),
    Output(ids.UPLOAD_LOAD, "disabled"),
    Output(ids.UPLOAD_RESULT, "children"),
    Output(ids.UPLOAD_CONFIRM, "hidden"),
    Input(ids.UPLOAD_FILE, "contents"),
    State(ids.UPLOAD_FILE, "filename"),
    State(ids.UPLOAD_SOURCE, "value"),
    prevent_initial_call=True,
)
@error_boundary
def check_upload(contents, filename, source_id):
    """Save the upload to a private folder and validate it (writes nothing to the store)."""
    if not contents:
        return message("Choose a file to check.", "info"), None, True, "", True
    source, spec = _source_for(source_id)
    check_upload_size(contents, filename or "The file")
    path = save_upload(contents, upload_suffix(filename, spec.get("format")))
    view, ok = preview_view(source, path, filename or path.name)
    if not ok:
        shutil.rmtree(path.parent, ignore_errors=True)
    pending = {"token": path.parent.name, "source": source.id, "file": path.name, "filename": filename} if ok else None
    return view, pending, not ok, "", True


@callback(
    Output(ids.UPLOAD_RESULT, "children", allow_duplicate=True),
    Output(ids.UPLOAD_PENDING, "data", allow_duplicate=True),
    Output(ids.UPLOAD_LOAD, "disabled", allow_duplicate=True),
    Output(ids.UPLOAD_CONFIRM, "hidden", allow_duplicate=True),
    Input(ids.UPLOAD_LOAD, "n_clicks"),
    State(ids.UPLOAD_PENDING, "data"),
    running=[(Output(ids.UPLOAD_LOAD, "children"), "Loading…", "Load this file")],
    prevent_initial_call=True,
)
@error_boundary
def load_upload(n_clicks, pending):
    """Load the checked file as a new vintage, then refresh the affected explanations."""
    return upload_outputs(n_clicks, pending, allow_withdrawals=False)


@callback(
    Output(ids.UPLOAD_RESULT, "children", allow_duplicate=True),
    Output(ids.UPLOAD_PENDING, "data", allow_duplicate=True),
    Output(ids.UPLOAD_LOAD, "disabled", allow_duplicate=True),
    Output(ids.UPLOAD_CONFIRM, "hidden", allow_duplicate=True),
    Input(ids.UPLOAD_CONFIRM, "n_clicks"),
    State(ids.UPLOAD_PENDING, "data"),
    running=[(Output(ids.UPLOAD_CONFIRM, "children"), "Loading…", "Withdraw them and load this file")],
    prevent_initial_call=True,
)
@error_boundary
def confirm_withdrawals(n_clicks, pending):
    """The user confirmed that the checked file may withdraw values: load it."""
    return upload_outputs(n_clicks, pending, allow_withdrawals=True)


def upload_outputs(n_clicks, pending, *, allow_withdrawals: bool):
    """(result, pending upload, load button disabled, confirm button hidden) after a load attempt: a
    load refused only for its withdrawals keeps the file and offers the confirmation."""
    if not n_clicks or not pending:
        return message("Upload and check a file first.", "info"), no_update, True, True
    source, _ = _source_for(pending.get("source"))
    path = checked_file(pending)
    if path is None:
        return message("The checked file is no longer available; upload it again.", "error"), None, True, True
    view, confirm = load_view(source, path, str(pending.get("filename") or path.name),
                              allow_withdrawals=allow_withdrawals)
    return view, pending if confirm else None, True, not confirm


def save_upload(contents: str | bytes, suffix: str) -> Path:
    """Write an upload (a data URL, decoded block by block, or bytes) to a new private folder with a
    random name under the cache folder, as ``upload<suffix>``: no part of the path comes from the user,
    and the resolved path is checked to be inside the uploads folder before anything is written."""
    folder = _uploads_dir()
    _clean_old_uploads(folder)
    name = f"upload{suffix}"
    if not UPLOAD_NAME_RE.match(name):
        raise ReadError(f"Uploads must be CSV, Excel (.xlsx), OpenDocument (.ods) or JSON, not '{suffix}'.")
    path = folder / secrets.token_hex(16) / name
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ReadError("The upload could not be saved in the uploads folder; nothing was written. Upload it again.")
    path.parent.mkdir(mode=0o700)
    try:
        with open(path, "xb") as handle:
            if isinstance(contents, bytes):
                handle.write(contents)
            else:
                for block in _decoded_blocks(contents):
                    handle.write(block)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return path


def checked_file(pending: dict) -> Path | None:
    """The saved file a pending upload names, if it is still there (and the token and name are ours)."""
    token, name = str(pending.get("token", "")), str(pending.get("file", ""))
    if not TOKEN_RE.match(token) or not UPLOAD_NAME_RE.match(name):
        return None
    root = _uploads_dir()
    path = root / token / name
    if path.parent != root / token or not path.resolve().is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def preview_view(source, path: Path, shown: str) -> tuple[html.Div, bool]:
    """What loading a saved upload would do, from the load itself rolled back (nothing is written),
    and whether it can be loaded. Every message names the uploaded file, never the saved copy."""
    from loaders import upload_preview

    outcome = upload_preview(state.get_store(), _manifest_for(path.parent), source, str(path), shown_as=shown)
    if outcome.status == "unchanged":
        return message(f"{shown} is the same file as the one already loaded (vintage {outcome.load_id}): loading it "
                       "would change nothing.", "info"), False
    if outcome.status == "failed":
        report = _tidy(outcome.report.to_dict(limit=2000), str(path), shown) if outcome.report is not None else None
        if report is not None:
            return report_view(report), False
        return message(_tidy(outcome.message, str(path), shown), "error",
                       title="This file cannot be loaded. Nothing has been written."), False
    report = _tidy(outcome.report.to_dict(limit=2000), str(path), shown) if outcome.report is not None else {}
    return report_view(report, changes_view(outcome)), True


def load_view(source, path: Path, shown: str, *, allow_withdrawals: bool = False) -> tuple[html.Div, bool]:
    """Load a checked file as a new vintage (one transaction) and say what happened; the flag is True
    when the load was refused only because it would withdraw values (the file is kept so the user can
    confirm)."""
    from explain import load_file_and_refresh

    result = load_file_and_refresh(state.get_store(), _manifest_for(path.parent), source, str(path),
                                   allow_withdrawals=allow_withdrawals, shown_as=shown)
    outcome = result.outcomes[0]
    if outcome.needs_confirmation:
        return html.Div([message(
            _tidy(outcome.message.replace("Nothing of this source was written.", ""), str(path), shown)
            + " If the department withdrew them, choose \"Withdraw them and load this file\"; the values stay in "
              "the earlier vintages' history.", "warning", title="Nothing was written: confirm the withdrawals")]), True
    shutil.rmtree(path.parent, ignore_errors=True)
    if outcome.status == "failed":
        report = _tidy(outcome.report.to_dict(limit=2000), str(path), shown) if outcome.report is not None else {}
        return html.Div([message(_tidy(outcome.message, str(path), shown), "error", title="Nothing was written"),
                         report_view(report) if report else None]), False
    if outcome.status == "unchanged":
        return message(outcome.message, "info"), False
    refreshed = result.refreshed or "none needed"
    return html.Div([
        message(f"Loaded {source.id} as vintage {outcome.load_id}: {outcome.rows_read:,} rows read, "
                f"{outcome.values_loaded:,} values ({outcome.values_new:,} new, {outcome.values_revised:,} revised, "
                f"{outcome.values_withdrawn:,} withdrawn), {outcome.rows_quarantined:,} rows quarantined; "
                f"quality grade {outcome.grade}. Explanations refreshed: {refreshed}.", "success", title="Loaded"),
        html.Ul([html.Li(r) for r in outcome.grade_reasons]) if outcome.grade_reasons else None,
        dcc.Link("See the updated vintage history", href=f"/data?source={source.id}#history"),
    ]), False
