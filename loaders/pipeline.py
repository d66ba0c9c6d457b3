"""Load the sources of a manifest into the store, one transaction per source.

For each source: hash the file (a byte-identical reload is a no-op that says so), read it
in chunks, validate (problems become a report; bad rows are quarantined), check keys are
unique, compare with the latest earlier values (new / revised / unchanged / withdrawn),
write the changed values as a new vintage, derive breakdown totals, parent-area roll-ups
and formula metrics, grade the load, and commit. Any structural problem raises before the
commit, so nothing of that source is written and every earlier vintage is untouched.

Concurrency: a load holds its source's lease (``load_locks``) from start to end, so a second
load of the same source fails at once and writes nothing; its transaction holds the store's
write lock (``Store.writing``), so loads of different sources queue for the write phase and
each computes roll-ups and formula metrics from the others' committed values. The same
transaction keeps ``metric_series`` (each metric's frequencies, counts and period range) in
step from the rows it writes.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from . import rollup
from . import schema as s
from .areas import AreaResolver
from .errors import StructuralError, WhytrendError, WithdrawalsRefused
from .formula import affected, evaluation_order, parse_formula
from .freshness import sync_states
from .manifest import Manifest, Source, check_source_path, load_manifest
from .periods import from_key
from .quality import QualityGrade, grade_load
from .readers import ReadOptions, file_sha256, open_table
from .rollup import KEY, Hierarchy, key_metric_ids, key_period_keys, pack_keys
from .store import LOAD_LOCK, Store, day_to_iso, frame_of, insert_if_absent, iso_to_day, latest_load, now
from .stream import events, parallel_events, parallel_worth_it
from .validate import (
    ValidationReport,
    add_late_warnings,
    check_header,
    expected_columns,
    normalise_chunk,
    period_columns,
    raw_json,
)
from .vocabulary import WHOLE_AREA

log = logging.getLogger(__name__)
BATCH = 100_000


@dataclass(frozen=True)
class SourceOutcome:
    """What happened to one source; ``status`` is 'loaded', 'unchanged', 'failed' or 'preview' (a dry run)."""

    source_id: str
    status: str
    message: str = ""
    load_id: int | None = None
    rows_read: int = 0
    values_loaded: int = 0
    rows_quarantined: int = 0
    values_new: int = 0
    values_revised: int = 0
    values_withdrawn: int = 0
    grade: str = ""
    grade_reasons: tuple[str, ...] = ()
    report: ValidationReport | None = field(default=None, compare=False, repr=False)
    #: metrics whose explanations this load made stale: those it wrote, formula metrics using them at
    #: any depth, and metrics whose model uses them as drivers (``loaders.freshness.sync_states``)
    affected_metrics: tuple[str, ...] = ()
    #: the load was refused only because it would withdraw values: loading again with
    #: ``allow_withdrawals`` (the user's confirmation) would write it
    needs_confirmation: bool = False
    #: a dry run's leaf values by kind ('new', 'revised', 'withdrawn'): metric, area, breakdown, period,
    #: old, new (upload_preview); empty for a real load
    changes: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "source_id", "status", "message", "load_id", "rows_read", "values_loaded", "rows_quarantined",
            "values_new", "values_revised", "values_withdrawn", "grade")} | {"grade_reasons": list(self.grade_reasons)}


def load_manifest_file(
    store: Store,
    manifest: Manifest | str | Path,
    *,
    only: Sequence[str] | None = None,
    on_source: Callable[[SourceOutcome], None] | None = None,
    allowed_dirs: Sequence[str | Path] | None = None,
    allow_withdrawals: bool = False,
) -> list[SourceOutcome]:
    """Load every source (or those in ``only``) of a manifest; failures do not stop the others.

    ``allow_withdrawals``: let a load withdraw more than :data:`WITHDRAW_SHARE` of its source's live
    values (otherwise it fails and writes nothing: a partial file must not hide values silently).

    ``allowed_dirs``: folders besides the manifest's own that its paths may point into (with those of
    WHYTREND_ALLOWED_DIRS); used when ``manifest`` is a path."""
    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest, allowed_dirs=allowed_dirs)
    chosen = manifest.sources
    if only:
        unknown = sorted(set(only) - {src.id for src in manifest.sources})
        if unknown:
            raise WhytrendError(f"Source {', '.join(unknown)} is not in {manifest.path}. "
                                f"Sources there: {', '.join(src.id for src in manifest.sources)}.")
        chosen = tuple(src for src in manifest.sources if src.id in only)
    outcomes = []
    for source in chosen:
        outcome = load_source(store, manifest, source, allow_withdrawals=allow_withdrawals)
        outcomes.append(outcome)
        if on_source:
            on_source(outcome)
    if all(o.status == "unchanged" for o in outcomes):
        # the manifest's own changes (names, formulas, events, series breaks, hierarchy) apply even when
        # every file is unchanged; a load that ran synced it in its own transaction
        with store.writing(LOAD_LOCK) as conn:
            store.sync_manifest(conn, manifest)
    return outcomes


def load_source(store: Store, manifest: Manifest, source: Source, *, location: str | None = None,
                allow_withdrawals: bool = False, shown_as: str | None = None, dry_run: bool = False) -> SourceOutcome:
    """Load one source as a new vintage, atomically; structural failures return status 'failed'.
    ``shown_as``: the file's name for people (an upload's own name), used in every problem and
    quarantine reason instead of ``location``. ``dry_run``: do everything a load does, then roll it
    back: the outcome (status 'preview') says what the load would do, with the values it would add,
    revise and withdraw (``SourceOutcome.changes``), by the loader's own rules (see
    :func:`upload_preview`).

    While another process loads the same source this fails at once ("being loaded by another
    process"), writing nothing."""
    from_manifest = location is None
    location = location or source.location
    lease = None
    try:
        if from_manifest:  # checked again now: a symlink may have changed since the manifest was read
            check_source_path(source, manifest)
        lease = store.take_lease(source.id)  # released in finally; SourceBusyError if another process holds it
        spec_sha = source_fingerprint(source, manifest)
        sha = None if source.url and not location.startswith(("/", ".")) else file_sha256(location)
        if sha is not None:
            with store.engine.connect() as conn:
                previous = latest_load(conn, source.id)
            if previous and previous.sha256 == sha and previous.spec_sha256 == spec_sha:
                return SourceOutcome(source.id, "unchanged", f"{source.id}: file and mapping unchanged since vintage "
                                     f"{previous.load_id} (same SHA-256); nothing loaded.", previous.load_id)
        options = _read_options(source)
        if not dry_run and parallel_worth_it(location, source):
            try:
                with store.writing(LOAD_LOCK) as conn:
                    return _Loader(store, conn, manifest, source, location, sha or "", streaming=True,
                                   allow_withdrawals=allow_withdrawals).run(
                        parallel_events(location, source, manifest, options, shown_as))
            except _RepeatedKeys:
                log.info("%s repeats keys: loading again without streaming to report them", source.id)
        stream = events(location, source, manifest, options, shown_as)
        info: Any = next(stream)[1]
        sha = sha or info.sha256 or ""
        if source.url and sha:
            with store.engine.connect() as conn:
                previous = latest_load(conn, source.id)
            if previous and previous.sha256 == sha and previous.spec_sha256 == spec_sha:
                return SourceOutcome(source.id, "unchanged", f"{source.id}: response unchanged since vintage "
                                     f"{previous.load_id}; nothing loaded.", previous.load_id)
        with store.writing(LOAD_LOCK) as conn:
            return _Loader(store, conn, manifest, source, location, sha, allow_withdrawals=allow_withdrawals,
                           dry_run=dry_run).run(_prepend(("info", info), stream))
    except _DryRun as done:  # raised inside the transaction, which rolled back: nothing was written
        return done.outcome
    except StructuralError as exc:
        report = exc.report if isinstance(exc.report, ValidationReport) else None
        return SourceOutcome(source.id, "failed", f"{source.id}: {exc} Nothing of this source was written.",
                             report=report, rows_read=report.rows_read if report else 0,
                             needs_confirmation=isinstance(exc, WithdrawalsRefused))
    except WhytrendError as exc:
        return SourceOutcome(source.id, "failed", f"{source.id}: {exc} Nothing of this source was written.")
    except SQLAlchemyError as exc:  # a bug or a database problem: this source fails, the others still load
        log.exception("loading %s failed in the database", source.id)
        cause = getattr(exc, "orig", None) or exc
        return SourceOutcome(source.id, "failed", f"{source.id}: the database refused the load "
                             f"({type(cause).__name__}: {cause}). Nothing of this source was "
                             "written; please report this with the file.")
    finally:
        if lease is not None:
            store.release_lease(lease)


def _series_codes(packed: np.ndarray) -> np.ndarray:
    """(metric id << 16 | period key) of packed keys: what metric_series counts by."""
    return (key_metric_ids(packed) << 16) | key_period_keys(packed)


class _RepeatedKeys(Exception):
    """A key repeated within the file while streaming: redo the load the slow way to report it."""


def _prepend(first, rest):
    yield first
    yield from rest


def preview_source(store: Store, manifest: Manifest, source: Source, location: str, *,
                   shown_as: str | None = None) -> tuple[ValidationReport, pd.DataFrame]:
    """Validate a file for a source without writing anything (the app's upload preview): the report,
    and the rows as they would be loaded (every clean row, for :func:`loaders.diff.upload_changes`)."""
    info, chunks = open_table(location, _read_options(source))
    report = ValidationReport(source.id, shown_as or location, info.sheet)
    columns = check_header(info, source, report)
    sample: list[pd.DataFrame] = []
    if not report.failed():
        wide = period_columns(info, source) if source.layout == "wide_by_period" else None
        for chunk in chunks:
            sample.append(normalise_chunk(chunk, info, source, manifest, columns, report, wide).rows)
        add_late_warnings(info, report)
    rows = pd.concat(sample, ignore_index=True) if sample else pd.DataFrame()
    return report, rows


def upload_preview(store: Store, manifest: Manifest, source: Source, location: str, *,
                   shown_as: str | None = None) -> SourceOutcome:
    """What loading ``location`` as the next vintage of ``source`` would do, writing nothing: the load
    itself run to its end inside a transaction that is then rolled back. So the counts and the values
    new, revised and withdrawn (``changes``) are exactly those of the load, and ``needs_confirmation``
    says whether it would withdraw too many values to go ahead without the user's say-so."""
    return load_source(store, manifest, source, location=location, shown_as=shown_as, dry_run=True)


class _DryRun(Exception):
    """Carries a dry run's outcome out of the load's transaction (so it rolls back)."""

    def __init__(self, outcome: SourceOutcome):
        super().__init__("dry run")
        self.outcome = outcome


#: a load may withdraw at most this share of its source's live values without --allow-withdrawals
WITHDRAW_SHARE = 0.05


#: source keys added after sources were first fingerprinted, with their defaults
_LATER_DEFAULTS: dict[str, object] = {"replace": "periods", "header_rows": 1, "section_column": None, "rows": (),
                                      "end": "auto"}


def source_fingerprint(source: Source, manifest: Manifest | None = None) -> str:
    """SHA-256 of how the manifest maps the file: the same bytes read another way are a new load. The
    manifest's area hierarchy is part of it (a changed ``[[area]]`` parent changes every roll-up), so
    loading again after changing it applies it instead of saying "unchanged"."""
    import hashlib

    spec = {k: v for k, v in sorted(source.__dict__.items()) if k not in ("base_dir", "path", "url", "title")}
    for key, default in _LATER_DEFAULTS.items():  # sources fingerprinted before these keys existed stay unchanged
        if spec.get(key) == default:
            del spec[key]
    if manifest is not None and manifest.areas:
        spec["areas"] = sorted((a.code, a.parent or "") for a in manifest.areas)
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def _read_options(source: Source) -> ReadOptions:
    rows = source.rows
    return ReadOptions(
        format=source.format, sheet=source.sheet, skip_rows=rows[0] - 1 if rows else source.skip_rows,
        header_rows=source.header_rows, section_column=source.section_column,
        last_row=rows[1] if len(rows) > 1 else None, end=source.end,
        expected_columns=tuple(dict.fromkeys(name for _, name in expected_columns(source)
                                             if name != source.section_column)),
        encoding=source.encoding, records_path=source.records_path, next_path=source.next_path,
        page_param=source.page_param,
    )


class _Loader:
    """The steps of one source's load inside one transaction (state kept between steps)."""

    def __init__(self, store: Store, conn: Connection, manifest: Manifest, source: Source, location: str, sha: str,
                 *, streaming: bool = False, allow_withdrawals: bool = False, dry_run: bool = False):
        self.store, self.conn, self.manifest, self.source, self.location, self.sha = (
            store, conn, manifest, source, location, sha)
        self.allow_withdrawals = allow_withdrawals
        self.dry_run = dry_run
        self.would_refuse = False  # a dry run that a real load would refuse for its withdrawals
        self.changes: dict[str, pd.DataFrame] = {}  # a dry run's leaf values: new, revised, withdrawn
        self.areas = AreaResolver(source.department)  # labels -> areas, the same way for every chunk
        self._file_periods: np.ndarray | None = None  # period keys the new file has (replace = "periods")
        self.streaming = streaming  # insert each chunk as it arrives (a worker process reads ahead)
        self._previous_frame: pd.DataFrame | None = None
        self._previous_metrics: set[int] = set()
        self._stream_counts = {"new": 0, "revised": 0, "unchanged": 0, "withdrawn": 0}
        self.period_keys: dict[tuple[str, str], int] = {}
        self.period_keys_inv: dict[int, tuple[str, str]] = {}
        self.statuses: list[str] = [""]
        # for metric_series: rows written per (metric << 16 | period key); packed keys of the rows written
        # for metrics with earlier values (they may replace one) and of the withdrawals; and the earlier
        # live values of the metrics written, as fetched for the comparison anyway
        self._written_counts: list[pd.Series] = []
        self._rewritten: list[np.ndarray] = []
        self._withdrawn: list[np.ndarray] = []
        self._with_earlier: set[int] = set()
        self._before: list[tuple[frozenset[int], pd.DataFrame]] = []

    # -------------------------------------------------------------- main flow
    def run(self, stream) -> SourceOutcome:
        """Consume the reader's events, write the vintage, grade it (inside the caller's transaction)."""
        conn, source = self.conn, self.source
        kind, info = next(stream)
        manifest_changed = self.store.sync_manifest(conn, self.manifest)
        self._upsert_source()
        self.load_id = conn.execute(insert(s.loads).values(
            source_id=source.id, file_sha256=self.sha, spec_sha256=source_fingerprint(source, self.manifest), started_at=now(),
            status="loading")).inserted_primary_key[0]
        self.metric_ids = self.store.metric_ids(conn)
        parts, quarantined, report = [], 0, None
        for kind, payload in stream:
            if kind == "report":
                report = payload
                break
            self._quarantine(payload.quarantined, info.sheet)
            quarantined += len(payload.quarantined)
            if not payload.rows.empty:
                encoded = self._encode(payload.rows)
                parts.append(encoded)
                if self.streaming:
                    self._stream_chunk(encoded)
        if report.failed():
            raise StructuralError(report.summary(), report)
        report.check_where(source)
        report.check_categories()
        for note in self.areas.notes():
            report.add("area-note", reason=note)
        if not any(len(p) for p in parts):
            raise StructuralError(self._nothing_to_load(report, quarantined), report)
        leaves = (pd.concat(parts, ignore_index=True) if parts else
                  pd.DataFrame({c: pd.Series(dtype="int64") for c in KEY + ["row", "status_code"]}
                               | {"value": pd.Series(dtype=float)}))
        del parts
        if self.streaming:
            # A repeated key need not fail an insert (an unchanged copy is not written), so check all keys;
            # the rare file that repeats one is loaded again the slow way, which reports every repeat.
            keys = np.sort(pack_keys(leaves))
            if len(keys) > 1 and (keys[1:] == keys[:-1]).any():
                raise _RepeatedKeys()
            exact_duplicates = 0
        else:
            leaves, exact_duplicates = self._check_duplicates(leaves, report)
        leaves["status"] = np.asarray(self.statuses, dtype=object)[leaves["status_code"].to_numpy()]
        del leaves["status_code"]  # in place: dropping would copy every column

        metric_ids = sorted(set(leaves["metric_id"].tolist()))
        self._file_periods = None if self.source.replace == "all" else np.unique(leaves["pk"].to_numpy())
        if self.source.replace == "all":  # withdrawing keys the file lacks covers metrics it no longer has
            metric_ids = sorted(set(metric_ids) | self._metrics_of_source())
        if self.streaming:
            self._ensure_previous(metric_ids)
            previous = self._previous_frame
            self._before.append((frozenset(self._previous_metrics), previous))
            counts = self._stream_counts
            counts["withdrawn"] = self._withdraw_missing(leaves, previous)
        else:
            previous = self._previous(metric_ids)
            self._before.append((frozenset(metric_ids), previous))
            counts = self._write_changes(leaves, previous, derived=False)
        self._check_withdrawals(previous, counts["withdrawn"])
        whole = self._with_retained(leaves, previous)  # this source's values of other periods stay live
        derived = self._derive(whole, metric_ids)
        self._write_changes(derived, previous, derived=True, keep=pack_keys(whole) if len(whole) else None)
        self._write_formula_metrics(metric_ids, published=pack_keys(leaves) if len(leaves) else None)
        self._write_series()

        self._check_published_totals(whole, report)
        grade = self._grade(leaves, report, exact_duplicates, counts, previous)
        periods = [self.period_keys_inv[pk] for pk in leaves["pk"].unique()] if len(leaves) else []
        labels = sorted(from_key(f, p) for f, p in periods)
        conn.execute(insert(s.load_metrics), [dict(load_id=self.load_id, metric_id=m) for m in metric_ids]) \
            if metric_ids else None
        affected = tuple(sorted(manifest_changed | sync_states(conn)))
        conn.execute(update(s.loads).where(s.loads.c.id == self.load_id).values(
            finished_at=now(), status="ok", rows_read=report.rows_read, rows_loaded=len(leaves),
            rows_quarantined=quarantined, values_new=counts["new"], values_revised=counts["revised"],
            values_withdrawn=counts["withdrawn"], values_unchanged=counts["unchanged"],
            period_min=labels[0].label if labels else None, period_max=labels[-1].label if labels else None,
            grade=grade.grade, grade_reasons=json.dumps(list(grade.reasons)),
            report=json.dumps(report.to_dict() | {"quality": grade.to_dict()}),
        ))
        outcome = SourceOutcome(
            source.id, "loaded", f"{source.id}: loaded as vintage {self.load_id}.", self.load_id,
            rows_read=report.rows_read, values_loaded=len(leaves), rows_quarantined=quarantined,
            values_new=counts["new"], values_revised=counts["revised"], values_withdrawn=counts["withdrawn"],
            grade=grade.grade, grade_reasons=grade.reasons, report=report, affected_metrics=affected,
        )
        if self.dry_run:
            raise _DryRun(replace(outcome, status="preview", load_id=None,
                                  message=f"{source.id}: what loading this file would do (nothing was written).",
                                  needs_confirmation=self.would_refuse, changes=self._readable_changes()))
        log.info("loaded %s as vintage %d: %d values, %d quarantined rows", source.id, self.load_id,
                 len(leaves), quarantined)
        return outcome

    # ------------------------------------------------------------------ steps
    def _upsert_source(self) -> None:
        spec = {k: v for k, v in self.source.__dict__.items() if k != "base_dir"}
        values = dict(department_code=self.source.department, title=self.source.title,
                      location=self.source.url or str(self.source.path), format=self.source.format,
                      spec=json.dumps(spec, default=str))
        if not insert_if_absent(self.conn, s.sources, [dict(id=self.source.id, **values)], ["id"]):
            self.conn.execute(update(s.sources).where(s.sources.c.id == self.source.id).values(**values))

    def _encode(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Codes to integer ids (creating undeclared areas and new breakdown keys).

        Each column is factorised so dictionaries are consulted once per distinct code,
        not once per row: this is the hot loop of a multi-million-row load."""
        names = dict(zip(rows["area"], rows["area_name"])) if rows["area_name"].ne("").any() else None
        area_codes, areas = pd.factorize(rows["area"])
        area_ids = self.areas.ids(self.conn, areas, names)
        bd_codes, breakdowns = pd.factorize(rows["breakdown"])
        breakdown_ids = self.store.ensure_breakdowns(self.conn, breakdowns)
        metric_codes, metrics = pd.factorize(rows["metric"])
        if any(m not in self.metric_ids for m in metrics):  # the first plan or forecast of a metric
            self.store.ensure_companions(self.conn, [m for m in metrics if m not in self.metric_ids])
            self.metric_ids = self.store.metric_ids(self.conn)
        freq_codes, freqs = pd.factorize(rows["freq"])
        start_codes, starts = pd.factorize(rows["period"])
        period_codes, combined = pd.factorize(freq_codes.astype(np.int64) * max(1, len(starts)) + start_codes)
        pairs = [f"{freqs[c // max(1, len(starts))]}|{starts[c % max(1, len(starts))]}" for c in combined]
        for pair in pairs:
            freq, start = pair.split("|", 1)
            key = (freq, start)
            if key not in self.period_keys:
                self.period_keys[key] = len(self.period_keys)
                self.period_keys_inv[self.period_keys[key]] = key
        status_codes, statuses = pd.factorize(rows["status"])
        for name in statuses:
            if name not in self.statuses:
                self.statuses.append(name)

        def lookup(codes: np.ndarray, uniques, mapping, dtype=np.int32) -> np.ndarray:
            return np.array([mapping(u) for u in uniques], dtype=dtype)[codes]

        # 4-byte ids (1-byte status): a 5-million-row load keeps ~120 MB of keys, not ~280 MB
        return pd.DataFrame({
            "metric_id": lookup(metric_codes, metrics, self.metric_ids.__getitem__),
            "area_id": lookup(area_codes, areas, area_ids.__getitem__),
            "breakdown_id": lookup(bd_codes, breakdowns, breakdown_ids.__getitem__),
            "pk": lookup(period_codes, pairs, lambda p: self.period_keys[tuple(p.split("|", 1))]),
            "value": rows["value"].to_numpy(dtype=float),
            "status_code": lookup(status_codes, statuses, self.statuses.index, np.int8),
            "row": rows["row"].to_numpy(dtype=np.int32),
        })

    def _check_duplicates(self, leaves: pd.DataFrame, report: ValidationReport) -> tuple[pd.DataFrame, int]:
        """Exact repeats are dropped with a warning; conflicting values for one key fail the source."""
        if leaves.empty:
            return leaves, 0
        packed = pack_keys(leaves)
        order = np.argsort(packed, kind="stable")
        sorted_keys = packed[order]
        repeat = np.zeros(len(packed), dtype=bool)
        repeat[order[1:]] = sorted_keys[1:] == sorted_keys[:-1]
        if not repeat.any():
            return leaves, 0
        dup_keys = np.unique(packed[repeat])
        involved = leaves[np.isin(packed, dup_keys)].assign(_key=packed[np.isin(packed, dup_keys)])
        exact = 0
        for _key, group in involved.groupby("_key", sort=True):
            values = group[["value", "status_code"]].astype(float).fillna(-1.7e308)
            if len(values.drop_duplicates()) == 1:
                for row in group["row"].iloc[1:]:
                    report.add("exact-duplicate", row=int(row), value=str(int(group["row"].iloc[0])))
                exact += len(group) - 1
            else:
                first = group.iloc[0]
                label = self._describe_key(first)
                report.add("duplicate-key", rows=", ".join(str(int(r)) for r in group["row"].head(5)), value=label)
        if report.failed():
            raise StructuralError(report.summary(), report)
        return leaves[~repeat].reset_index(drop=True), exact

    def _describe_key(self, row: pd.Series) -> str:
        metric = {v: k for k, v in self.metric_ids.items()}[int(row["metric_id"])]
        area = {v: k for k, v in self.store.area_ids(self.conn).items()}[int(row["area_id"])]
        freq, period = self.period_keys_inv[int(row["pk"])]
        return f"metric {metric}, area {area}, period {from_key(freq, period).label}"

    def _previous(self, metric_ids: list[int], *, include_current: bool = False) -> pd.DataFrame:
        """Latest earlier value of every key of these metrics, with the source that wrote it
        (``include_current``: the latest including what this load has written so far)."""
        columns = KEY + ["value", "status", "load_id", "derived", "source_id"]
        if not metric_ids:
            return pd.DataFrame(columns=columns)
        o = s.observations
        query = (select(o.c.metric_id, o.c.area_id, o.c.breakdown_id, o.c.freq, o.c.period, o.c.value, o.c.status,
                        o.c.load_id, o.c.derived)
                 .where(o.c.metric_id.in_(metric_ids),
                        o.c.load_id <= self.load_id if include_current else o.c.load_id < self.load_id)
                 .order_by(o.c.metric_id, o.c.area_id, o.c.breakdown_id, o.c.freq, o.c.period, o.c.load_id))
        frame = frame_of(self.conn.execute(query), ["metric_id", "area_id", "breakdown_id", "freq", "period", "value",
                                                     "status", "load_id", "derived"])
        if frame.empty:
            return pd.DataFrame(columns=columns)
        self._with_earlier.update(int(m) for m in pd.unique(frame["metric_id"]))
        frame = frame.drop_duplicates(["metric_id", "area_id", "breakdown_id", "freq", "period"], keep="last")
        frame = frame[frame["status"] != "withdrawn"]
        codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([frame["freq"], frame["period"]]))
        pks = []
        for freq_code, day in uniques:
            key = (s.FREQ_LETTERS[int(freq_code)], day_to_iso(day))
            if key not in self.period_keys:
                self.period_keys[key] = len(self.period_keys)
                self.period_keys_inv[self.period_keys[key]] = key
            pks.append(self.period_keys[key])
        frame["pk"] = np.array(pks, dtype=np.int64)[codes]
        sources = dict(self.conn.execute(select(s.loads.c.id, s.loads.c.source_id)).all())
        frame["source_id"] = frame["load_id"].map(sources)
        frame["value"] = frame["value"].astype(float)
        return frame[columns].reset_index(drop=True)

    def _write_changes(self, current: pd.DataFrame, previous: pd.DataFrame, *, derived: bool,
                       keep: np.ndarray | None = None) -> dict[str, int]:
        """Insert keys that are new or changed; withdraw this source's leaf keys that disappeared.

        ``keep``: keys this load writes as leaves; a roll-up they replace (a parent the source
        now publishes itself) is superseded by the leaf, not withdrawn."""
        kind = previous[previous["derived"] > 0] if derived else previous[previous["derived"] == 0]
        counts = {"new": 0, "revised": 0, "unchanged": 0, "withdrawn": 0}
        if current.empty and kind.empty:
            return counts
        if kind.empty:
            changed = current
            counts["new"] = len(current)
            if self.dry_run and not derived:
                self.changes["new"] = current.assign(old=np.nan)
        else:
            old = kind.set_index(pack_keys(kind))
            keys = pack_keys(current)
            known = np.isin(keys, old.index.to_numpy())
            prior = old.reindex(keys[known])
            same_value = np.isclose(current["value"].to_numpy()[known], prior["value"].to_numpy(), rtol=1e-12,
                                    atol=0.0, equal_nan=True)
            same = same_value & (current["status"].to_numpy()[known] == prior["status"].to_numpy())
            unchanged = np.zeros(len(current), dtype=bool)
            unchanged[np.flatnonzero(known)[same]] = True
            counts["new"] = int((~known).sum())
            counts["revised"] = int(known.sum() - same.sum())
            counts["unchanged"] = int(unchanged.sum())
            changed = current[~unchanged]
            if not derived:
                mine = self._replaced(kind[kind["source_id"] == self.source.id])
                gone = mine[~np.isin(pack_keys(mine), keys)]
            else:
                gone = kind[~np.isin(pack_keys(kind), keys) & kind["metric_id"].isin(self._single_source_metrics(kind))]
                if keep is not None and len(gone):
                    gone = gone[~np.isin(pack_keys(gone), keep)]
            if self.dry_run and not derived:
                revised = np.flatnonzero(known)[~same]
                self.changes["new"] = current[~known].assign(old=np.nan)
                self.changes["revised"] = current.iloc[revised].assign(
                    old=prior["value"].to_numpy()[~same])
                self.changes["withdrawn"] = gone.assign(old=gone["value"], value=np.nan)
            if not gone.empty:
                counts["withdrawn"] = len(gone)
                self._insert(gone.assign(value=np.nan, status="withdrawn"), derived_codes=gone["derived"].to_numpy())
        if not changed.empty:
            codes = changed["derived"].to_numpy() if derived else np.zeros(len(changed), dtype=np.int64)
            self._insert(changed, derived_codes=codes)
        return counts

    def _ensure_previous(self, metric_ids) -> None:
        """Latest earlier values of metrics not fetched yet, added to the streaming comparison frame."""
        wanted = sorted(set(int(m) for m in metric_ids) - self._previous_metrics)
        if not wanted:
            return
        fetched = self._previous(wanted)
        self._previous_metrics.update(wanted)
        frames = [f for f in (self._previous_frame, fetched) if f is not None and not f.empty]
        self._previous_frame = pd.concat(frames, ignore_index=True) if frames else fetched
        leaves = self._previous_frame[self._previous_frame["derived"] == 0]
        self._previous_leaves = leaves.set_index(pack_keys(leaves)) if len(leaves) else None

    def _stream_chunk(self, encoded: pd.DataFrame) -> None:
        """Compare one chunk with the latest earlier values and insert what is new or changed."""
        self._ensure_previous(pd.unique(encoded["metric_id"]))
        chunk = encoded.assign(status=np.asarray(self.statuses, dtype=object)[encoded["status_code"].to_numpy()])
        old = getattr(self, "_previous_leaves", None)
        counts = self._stream_counts
        if old is None:
            changed = chunk
            counts["new"] += len(chunk)
        else:
            keys = pack_keys(chunk)
            known = np.isin(keys, old.index.to_numpy())
            prior = old.reindex(keys[known])
            same = (np.isclose(chunk["value"].to_numpy()[known], prior["value"].to_numpy(), rtol=1e-12, atol=0.0,
                               equal_nan=True) & (chunk["status"].to_numpy()[known] == prior["status"].to_numpy()))
            unchanged = np.zeros(len(chunk), dtype=bool)
            unchanged[np.flatnonzero(known)[same]] = True
            counts["new"] += int((~known).sum())
            counts["revised"] += int(known.sum() - same.sum())
            counts["unchanged"] += int(unchanged.sum())
            changed = chunk[~unchanged]
        if not changed.empty:
            try:
                self._insert(changed, derived_codes=np.zeros(len(changed), dtype=np.int64))
            except Exception as exc:  # sqlite3/psycopg IntegrityError: a key repeated in the file
                if "UNIQUE" in str(exc).upper() or "DUPLICATE" in str(exc).upper():
                    raise _RepeatedKeys() from exc
                raise

    def _withdraw_missing(self, leaves: pd.DataFrame, previous: pd.DataFrame | None) -> int:
        """Keys this source had in its last vintage and no longer has are marked withdrawn."""
        if previous is None or previous.empty:
            return 0
        mine = self._replaced(previous[(previous["derived"] == 0) & (previous["source_id"] == self.source.id)])
        gone = mine[~np.isin(pack_keys(mine), pack_keys(leaves))] if len(leaves) else mine
        if not gone.empty:
            self._insert(gone.assign(value=np.nan, status="withdrawn"), derived_codes=gone["derived"].to_numpy())
        return len(gone)

    # ---------------------------------------------------------- what a new file replaces
    def _replaced(self, mine: pd.DataFrame) -> pd.DataFrame:
        """This source's earlier leaf values that the new file replaces: those of the periods it contains
        (``replace = "periods"``, the default), or all of them (``replace = "all"``)."""
        if self._file_periods is None or mine.empty:
            return mine
        return mine[np.isin(mine["pk"].to_numpy(), self._file_periods)]

    def _with_retained(self, leaves: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
        """The new leaves plus this source's earlier leaves the file does not replace, so roll-ups are
        computed over every value that stays live (not only the periods the file has)."""
        if self._file_periods is None or previous is None or previous.empty:
            return leaves
        mine = previous[(previous["derived"] == 0) & (previous["source_id"] == self.source.id)]
        kept = mine[~np.isin(mine["pk"].to_numpy(), self._file_periods)]
        if kept.empty:
            return leaves
        kept = kept[~np.isin(pack_keys(kept), pack_keys(leaves))]
        return pd.concat([leaves, kept[leaves.columns.intersection(kept.columns)]], ignore_index=True)

    def _metrics_of_source(self) -> set[int]:
        """Metrics any earlier vintage of this source wrote."""
        return {int(m) for m in self.conn.execute(
            select(s.load_metrics.c.metric_id).join(s.loads, s.loads.c.id == s.load_metrics.c.load_id)
            .where(s.loads.c.source_id == self.source.id).distinct()).scalars()}

    def _readable_changes(self) -> dict[str, pd.DataFrame]:
        """A dry run's leaf changes with codes and period labels: metric, area, breakdown, period, old, new."""
        metrics = {v: k for k, v in self.store.metric_ids(self.conn).items()}
        areas = {v: k for k, v in self.store.area_ids(self.conn).items()}
        breakdowns = {r.id: r.key for r in self.conn.execute(select(s.breakdowns.c.id, s.breakdowns.c.key))}
        columns = ["metric", "area", "breakdown", "period", "old", "new"]
        out = {}
        for kind in ("new", "revised", "withdrawn"):
            frame = self.changes.get(kind)
            if frame is None or frame.empty:
                out[kind] = pd.DataFrame(columns=columns)
                continue
            periods = [self.period_keys_inv[int(pk)] for pk in frame["pk"]]
            out[kind] = pd.DataFrame({
                "metric": frame["metric_id"].map(metrics).to_numpy(), "area": frame["area_id"].map(areas).to_numpy(),
                "breakdown": frame["breakdown_id"].map(breakdowns).fillna("").to_numpy(),
                "period": [from_key(f, p).label for f, p in periods],
                "old": frame["old"].astype(float).to_numpy(), "new": frame["value"].astype(float).to_numpy(),
            }).sort_values(["metric", "area", "breakdown", "period"], kind="stable").reset_index(drop=True)
        return out

    def _check_withdrawals(self, previous: pd.DataFrame | None, withdrawn: int) -> None:
        """Refuse (writing nothing) a load that would withdraw more than WITHDRAW_SHARE of the source's live
        values, unless the user confirmed it: a partial or wrong file must not hide values silently."""
        if self.allow_withdrawals or not withdrawn or previous is None or previous.empty:
            return
        live = int(((previous["derived"] == 0) & (previous["source_id"] == self.source.id)).sum())
        if live and withdrawn > WITHDRAW_SHARE * live and self.dry_run:
            self.would_refuse = True
        elif live and withdrawn > WITHDRAW_SHARE * live:
            raise WithdrawalsRefused(
                f"This file would withdraw {withdrawn:,} of the {live:,} values {self.source.id} has now "
                f"({withdrawn / live:.0%}): they are in periods the file covers (or, with replace = \"all\", "
                "anywhere) but the file no longer has them. If that is intended (the department withdrew them), "
                "confirm it (whytrend load --allow-withdrawals, or \"Withdraw them and load\" on the Data page); "
                "otherwise check that the file is complete.", withdrawn, live)

    def _check_published_totals(self, leaves: pd.DataFrame, report: ValidationReport) -> None:
        """Where the file publishes the whole itself (a total row), compare it with the sum of its top-level
        areas for metrics that sum; a gap is reported (the published total is kept as the whole)."""
        hierarchy = self._hierarchy()
        whole = leaves[leaves["area_id"] == hierarchy.whole_id]
        if whole.empty:
            return
        summing = {r.id for r in self.conn.execute(select(s.metrics.c.id, s.metrics.c.aggregation))
                   if r.aggregation == "sum"}
        roots = [a for a, parent in hierarchy.parent.items() if parent is None]
        tops = leaves[leaves["area_id"].isin(roots) & leaves["metric_id"].isin(summing)]
        if tops.empty:
            return
        keys = ["metric_id", "breakdown_id", "pk"]
        sums = tops.groupby(keys)["value"].sum(min_count=1)
        published = whole[whole["metric_id"].isin(summing)].set_index(keys)["value"]
        gaps = (published - sums.reindex(published.index)).dropna()
        gaps = gaps[gaps.abs() > 1e-9 * published.reindex(gaps.index).abs().clip(lower=1.0)]
        codes = {v: k for k, v in self.metric_ids.items()}
        for metric_id, group in gaps.groupby(level="metric_id"):
            worst = group.abs().idxmax()
            period = from_key(*self.period_keys_inv[worst[2]]).label
            report.add("parent-mismatch", value=f"the whole of {codes.get(int(metric_id), metric_id)} (its total row)",
                       reason=f"{group.loc[worst]:+,.6g} in {period} ({len(group)} of {len(published)} periods and "
                              "breakdowns differ; the published total is kept as the whole and the gap is shown as "
                              "'Not allocated to a segment')")

    @staticmethod
    def _nothing_to_load(report: ValidationReport, quarantined: int) -> str:
        if quarantined:
            return (f"Every one of the {quarantined:,} data rows was quarantined, so there is nothing to load; "
                    "the reasons are listed with each row. Fix the file (or the manifest's columns) and load again.")
        return (f"The file has no data rows ({report.rows_read:,} read): it is empty or has only a header. Check "
                "that it is the right file and that it was saved or downloaded completely.")

    def _single_source_metrics(self, frame: pd.DataFrame) -> list[int]:
        sources = frame[frame["derived"] == 0].groupby("metric_id")["source_id"].nunique()
        return [int(m) for m in frame["metric_id"].unique() if sources.get(m, 0) <= 1]

    def _insert(self, rows: pd.DataFrame, *, derived_codes: np.ndarray) -> None:
        """executemany through the DBAPI cursor on SQLite (the fast path measured in docs/performance.md),
        COPY on PostgreSQL (psycopg 3; benchmarks/ingest.py --db-url), in primary-key order so the
        clustered table is appended to rather than split."""
        order = np.lexsort((rows["pk"].map(self._period_rank()).to_numpy(), rows["breakdown_id"].to_numpy(),
                            rows["area_id"].to_numpy(), rows["metric_id"].to_numpy()))
        rows, derived_codes = rows.iloc[order], derived_codes[order]
        written = pack_keys(rows)
        self._written_counts.append(pd.Series(_series_codes(written)).value_counts())
        replacing = rows["metric_id"].isin(self._with_earlier).to_numpy()
        if replacing.any():
            self._rewritten.append(written[replacing])
        gone = (rows["status"] == "withdrawn").to_numpy()
        if gone.any():
            self._withdrawn.append(written[gone])
        keys = [self.period_keys_inv[i] for i in range(len(self.period_keys_inv))]
        pk = rows["pk"].to_numpy()
        freq = np.array([s.FREQ_CODES[f] for f, _ in keys], dtype=np.int64)[pk]
        period = np.array([iso_to_day(p) for _, p in keys], dtype=np.int64)[pk]
        value = rows["value"].to_numpy(dtype=float)
        arrays = (rows["metric_id"].to_numpy(), rows["area_id"].to_numpy(), rows["breakdown_id"].to_numpy(), freq,
                  period, value, rows["status"].to_numpy(dtype=object), np.asarray(derived_codes))
        columns = "metric_id, area_id, breakdown_id, freq, period, value, status, derived, load_id"
        cursor = self.conn.connection.driver_connection.cursor()

        def batches():
            for start in range(0, len(rows), BATCH):  # tuples built per batch keep memory flat
                part = [a[start:start + BATCH].tolist() for a in arrays]
                if np.isnan(value[start:start + BATCH]).any():
                    part[5] = [None if v != v else v for v in part[5]]
                yield part

        try:
            if hasattr(cursor, "copy"):  # PostgreSQL through psycopg 3: COPY, in the same transaction
                load_id = int(self.load_id)
                with cursor.copy(f"COPY observations ({columns}) FROM STDIN") as copy:
                    for part in batches():
                        for row in zip(*part):
                            copy.write_row((*row, load_id))
            else:
                marker = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
                sql = f"INSERT INTO observations ({columns}) VALUES ({', '.join([marker] * 8)}, {int(self.load_id)})"
                for part in batches():
                    cursor.executemany(sql, zip(*part))
        finally:
            cursor.close()

    def _write_series(self) -> None:
        """Bring ``metric_series`` up to date for every metric this load wrote a row of, from memory.

        A metric's live values after the load are its earlier live values (the ``previous`` frames
        the comparison fetched anyway) whose key this load did not write, plus the rows this load
        wrote that are not withdrawals; so no query reads ``observations`` here. Counted per
        (metric, period): keys are unique within a load, and each earlier key this load wrote again
        is found by one binary search. Metrics the load did not write keep their metadata."""
        if not self._written_counts:
            return
        written = pd.concat(self._written_counts).groupby(level=0).sum()
        touched = {int(m) for m in pd.unique(written.index.to_numpy(dtype=np.int64) >> 16)}
        before_parts: list[pd.DataFrame] = []
        covered: set[int] = set()
        for metrics, frame in self._before:
            wanted = (metrics & touched) - covered
            if not wanted:
                continue
            covered |= wanted
            if frame is not None and len(frame):
                part = frame[frame["metric_id"].isin(wanted)]
                if len(part):
                    before_parts.append(pack_keys(part))
        missing = sorted(touched - covered)
        if missing:  # not expected: every write compares with a fetched frame first
            log.warning("metric_series: fetching earlier values of metrics %s again", missing)
            before_parts.append(pack_keys(self._previous(missing)))
        before = np.sort(np.concatenate(before_parts)) if before_parts else np.zeros(0, dtype=np.int64)
        del before_parts

        counts: list[pd.Series] = [written]  # +/- number of live keys per (metric << 16 | period key)

        def add(packed: np.ndarray, sign: int) -> None:
            if len(packed):
                counts.append(pd.Series(_series_codes(packed)).value_counts() * sign)

        add(before, 1)
        if len(before):  # earlier keys written again: no longer counted as earlier values
            for keys in self._rewritten:
                at = np.minimum(np.searchsorted(before, keys), len(before) - 1)
                add(keys[before[at] == keys], -1)
        for gone in self._withdrawn:
            add(gone, -1)
        total = pd.concat(counts).groupby(level=0).sum() if counts else pd.Series(dtype=np.int64)
        total = total[total > 0]
        pk_freq = np.zeros(max(len(self.period_keys_inv), 1), dtype=np.int64)
        pk_day = np.zeros(max(len(self.period_keys_inv), 1), dtype=np.int64)
        for pk, (freq, start) in self.period_keys_inv.items():
            pk_freq[pk], pk_day[pk] = s.FREQ_CODES[freq], iso_to_day(start)
        codes = total.index.to_numpy(dtype=np.int64)
        frame = pd.DataFrame({"metric_id": codes >> 16, "freq": pk_freq[codes & 0xFFFF],
                              "period": pk_day[codes & 0xFFFF], "n": total.to_numpy(dtype=np.int64)})
        grouped = frame.groupby(["metric_id", "freq"])
        series = pd.DataFrame({"n_values": grouped["n"].sum(), "n_periods": grouped.size(),
                               "period_min": grouped["period"].min(), "period_max": grouped["period"].max()})
        wrote_series = {(code >> 16, int(pk_freq[code & 0xFFFF])) for code in written.index.tolist()}
        ms = s.metric_series
        earlier = {(r.metric_id, r.freq): r.load_id for r in self.conn.execute(
            select(ms.c.metric_id, ms.c.freq, ms.c.load_id).where(ms.c.metric_id.in_(sorted(touched))))}
        rows = [dict(metric_id=int(m), freq=int(f), n_values=int(r.n_values), n_periods=int(r.n_periods),
                     period_min=int(r.period_min), period_max=int(r.period_max),
                     load_id=int(self.load_id) if (m, f) in wrote_series else int(earlier.get((m, f), self.load_id)))
                for (m, f), r in series.iterrows()]
        self.conn.execute(delete(ms).where(ms.c.metric_id.in_(sorted(touched))))
        if rows:
            self.conn.execute(insert(ms), rows)

    def _period_rank(self) -> dict[int, int]:
        """Period keys ranked by (freq, start) as the primary key sorts them."""
        ranked = sorted(self.period_keys_inv, key=self.period_keys_inv.get)
        return {pk: rank for rank, pk in enumerate(ranked)}

    def _quarantine(self, rows: list[tuple[int, dict, list[str]]], sheet: str | None) -> None:
        if rows:
            self.conn.execute(insert(s.quarantine), [
                dict(load_id=self.load_id, row_number=row, sheet=sheet, raw=raw_json(raw), reasons=json.dumps(reasons))
                for row, raw, reasons in rows])

    def _hierarchy(self) -> Hierarchy:
        rows = self.conn.execute(select(s.areas.c.id, s.areas.c.parent_id, s.areas.c.code)).all()
        whole = next(r.id for r in rows if r.code == WHOLE_AREA)
        return Hierarchy({r.id: r.parent_id for r in rows if r.id != whole}, whole)

    def _derive(self, leaves: pd.DataFrame, metric_ids: list[int]) -> pd.DataFrame:
        """Breakdown totals, then area roll-ups over every breakdown, from all current leaves."""
        if leaves.empty:
            return rollup._empty()
        aggregation = {row.id: row.aggregation for row in self.conn.execute(
            select(s.metrics.c.id, s.metrics.c.aggregation))}
        # a formula metric the file publishes is not summed up the hierarchy: its parents are the formula of
        # the rolled-up components (written by _write_formula_metrics)
        metric_ids = [m for m in metric_ids if aggregation[m] != "formula"]
        leaves = leaves[leaves["metric_id"].isin(metric_ids)]
        if leaves.empty:
            return rollup._empty()
        how = {m: ("mean" if aggregation[m] == "mean" else "sum") for m in metric_ids}
        base = self._with_other_sources(leaves, metric_ids)
        keys = {r.id: r.key for r in self.conn.execute(select(s.breakdowns.c.id, s.breakdowns.c.key))}
        used = {int(b): keys[int(b)] for b in base["breakdown_id"].unique()}
        key_ids = self.store.ensure_breakdowns(self.conn, rollup.marginal_keys(used)) if used else {}
        totals = rollup.breakdown_totals(base, used, how, key_ids)
        values = pd.concat([base, totals[KEY + ["value", "status"]]], ignore_index=True) if len(totals) else base
        areas = rollup.area_rollups(values, self._hierarchy(), how)
        return pd.concat([totals, areas], ignore_index=True)

    def _with_other_sources(self, leaves: pd.DataFrame, metric_ids: list[int]) -> pd.DataFrame:
        """Roll-ups must cover every source of a metric: add the latest leaves other sources wrote."""
        other = self.conn.execute(
            select(s.load_metrics.c.metric_id).join(s.loads, s.loads.c.id == s.load_metrics.c.load_id)
            .where(s.load_metrics.c.metric_id.in_(metric_ids), s.loads.c.source_id != self.source.id).distinct()
        ).scalars().all()
        if not other:
            return leaves
        previous = self._previous(list(other))
        extra = previous[(previous["derived"] == 0) & (previous["source_id"] != self.source.id)]
        extra = extra[~np.isin(pack_keys(extra), pack_keys(leaves))]
        return pd.concat([leaves, extra[leaves.columns.intersection(extra.columns)]], ignore_index=True)

    def _write_formula_metrics(self, metric_ids: list[int], published: np.ndarray | None = None) -> None:
        """Metrics with aggregation 'formula' over components this load touched: evaluate at every key
        (leaf areas, roll-ups and the whole alike, so a parent's value is the formula of its rolled-up
        components)."""
        rows = {r.code: r for r in self.conn.execute(select(s.metrics)).all()}
        codes = {code: r.id for code, r in rows.items()}
        formulas = {code: r.formula for code, r in rows.items() if r.aggregation == "formula" and r.formula}
        touched = {code for code, r in rows.items() if r.id in set(metric_ids)}
        stale = affected(formulas, touched)  # at any depth: a formula of formulas is evaluated after its parts
        for code in evaluation_order(formulas):
            if code not in stale:
                continue
            metric = rows[code]
            names = parse_formula(metric.formula).components
            components = self._previous([codes[n] for n in names if n in codes], include_current=True)
            values = rollup.formula_values(components, metric.formula, codes, metric.id)
            if published is not None and len(values):  # a value the file publishes itself is kept as published
                values = values[~np.isin(pack_keys(values), published)]
            before = self._previous([metric.id])
            self._before.append((frozenset([metric.id]), before))
            self._write_changes(values, before, derived=True)

    def _grade(self, leaves, report, exact_duplicates, counts, previous) -> QualityGrade:
        order = {}
        latest_end, latest_freq = None, None
        used = set(leaves["pk"].unique().tolist())
        for pk, (freq, start) in self.period_keys_inv.items():
            period = from_key(freq, start)
            order[pk] = period.ordinal
            if pk in used and (latest_end is None or period.end > latest_end):
                latest_end, latest_freq = period.end, freq
        published = int((previous["derived"] == 0).sum()) if not previous.empty else 0
        return grade_load(
            leaves=leaves, period_order=order, rows_read=report.rows_read,
            rows_quarantined=report.rows_quarantined, exact_duplicates=exact_duplicates,
            values_revised=counts["revised"], values_previously_published=published,
            latest_period_end=latest_end, latest_freq=latest_freq, loaded_on=dt.date.today(),
            expected_lag_days=self.source.expected_lag_days,
        )
