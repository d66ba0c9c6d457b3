"""Open the store, migrate it forward, keep reference tables in step with manifests, and read.

Everything that knows how vintages are laid out in ``observations`` lives here, so other
modules ask for "the latest values" or "as at vintage N" and never repeat that logic.

Several processes may use one store at once (app workers, a `whytrend load` beside the app):

* Reference rows (departments, areas, metrics, breakdowns, sources, events, settings, schema
  versions) are written with :func:`insert_if_absent` and re-read, never check-then-insert.
* Migrations and loads write inside :meth:`Store.writing`: on SQLite ``BEGIN IMMEDIATE`` (the
  file's one write lock, taken before anything is read), on PostgreSQL a transaction-level
  advisory lock; a process that finds the lock taken waits (up to :attr:`Store.write_wait`).
* One load per source at a time: :meth:`Store.take_lease` holds a row of ``load_locks``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from . import schema as s
from .areas import claim_declared, hierarchy_conflicts
from .errors import ManifestError, StoreError, WhytrendError
from .freshness import MetricState, read_states, sync_states
from .manifest import Manifest
from .series import companion_formula, is_companion, series_code, series_words, split_code
from .sql import insert_if_absent
from .vocabulary import WHOLE_AREA, WHOLE_AREA_LEVEL, WHOLE_AREA_NAME

log = logging.getLogger(__name__)

DEFAULT_DB = "sqlite:///whytrend.db"

#: how long a SQLite statement waits for another connection's lock before "database is locked"
#: (waiting for the write lock itself is retried by :meth:`Store.writing` up to ``write_wait``)
BUSY_TIMEOUT_MS = 10_000
#: seconds a migration or a load waits for another process's write transaction (env WHYTREND_WRITE_WAIT)
DEFAULT_WRITE_WAIT = 3600.0
#: seconds after which a load's lease on its source is presumed abandoned (env WHYTREND_LOAD_LOCK_TIMEOUT)
DEFAULT_LOAD_LOCK_TIMEOUT = 6 * 3600.0
#: PostgreSQL advisory lock keys (pg_advisory_xact_lock): schema migrations, and the write phase of loads
MIGRATION_LOCK = 0x7768_7974_0001
LOAD_LOCK = 0x7768_7974_0002


class SourceBusyError(WhytrendError):
    """Another process holds the load lease of a source."""


def frame_of(result, columns: list[str], types: dict[str, str] | None = None) -> pd.DataFrame:
    """A DataFrame from a SQLAlchemy result of plain numeric/text columns, fetched through the
    DBAPI cursor: SQLAlchemy's per-row processing and pandas probing Row objects cost seconds
    on a million rows, and these columns need no type processing.

    ``types`` (column -> "int", "float" or "str", for every column) lets each column be built
    directly instead of inferred from the rows: twice as fast. An "int" column must hold no NULL;
    a NULL in a "float" column becomes NaN, as inference makes it."""
    cursor = getattr(result, "cursor", None)
    rows = cursor.fetchall() if cursor is not None else [tuple(row) for row in result]
    result.close()
    if types is None or not rows:
        return pd.DataFrame(rows, columns=columns)
    built = {"int": lambda v: np.array(v, dtype=np.int64), "float": lambda v: np.array(v, dtype=np.float64),
             "str": lambda v: pd.array(v, dtype="str")}
    return pd.DataFrame({name: built[types[name]](values) for name, values in zip(columns, zip(*rows))})


#: the observations columns as frame_of builds them (status and every key column are NOT NULL)
_OBSERVATION_TYPES = {"metric_id": "int", "area_id": "int", "breakdown_id": "int", "freq": "int", "period": "int",
                      "value": "float", "status": "str", "load_id": "int", "derived": "int"}


def now() -> str:
    """UTC timestamp in ISO form, the one format stored for times."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def database_url(db: str | os.PathLike | None = None) -> str:
    """Resolve ``--db``: a SQLAlchemy URL, a plain path (SQLite), else $WHYTREND_DB, else ./whytrend.db."""
    db = db or os.environ.get("WHYTREND_DB") or DEFAULT_DB
    db = str(db)
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")  # first: switching to WAL may wait on a lock
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MB page cache: bulk loads gain little beyond it
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def make_engine(db: str | os.PathLike | None = None) -> Engine:
    """An Engine for ``db`` with SQLite in WAL mode and foreign keys on."""
    url = database_url(db)
    try:
        engine = create_engine(url, future=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"Cannot use database URL '{url}': {exc}. Give a path or a SQLAlchemy URL with --db.") from None
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if path and path != ":memory:":
            parent = Path(path).parent
            if not parent.exists():
                raise StoreError(f"Cannot create database {path}: folder {parent} does not exist.")
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise StoreError(f"${name} is '{raw}'; give a number of seconds greater than 0, or unset it.")
    return value


def _error_text(exc: BaseException) -> str:
    """The database's own message on one line (without SQLAlchemy's statement and link)."""
    orig = getattr(exc, "orig", None)
    text_ = str(orig if orig is not None else exc)
    text_ = re.sub(r"\(Background on this error at: [^)]*\)", "", text_)
    text_ = text_.split("\n[SQL:", 1)[0]
    return " ".join(text_.split()).rstrip(".")


def _is_busy(exc: OperationalError) -> bool:
    message = str(exc.orig or exc).lower()
    return "database is locked" in message or "database is busy" in message or "database table is locked" in message



def _drop_observation_foreign_keys(conn: Connection) -> None:
    """PostgreSQL: drop the foreign keys of ``observations`` (schema 7). Each row paid four
    referential-integrity checks, which made a load 4.4 times slower than the same rows without them
    (500,000 rows: 14.1 s against 3.2 s, benchmarks/ingest.py --db-url). The loader is the table's one
    writer and takes every id from the reference tables in the same transaction, and whytrend never
    deletes a metric, area, breakdown or load that observations name. SQLite keeps the keys: there
    each check is one B-tree lookup in a page already cached, and costs little."""
    names = [r[0] for r in conn.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'observations'::regclass AND contype = 'f'")]
    for name in names:
        conn.exec_driver_sql(f'ALTER TABLE observations DROP CONSTRAINT IF EXISTS "{name}"')
    log.info("dropped %d foreign keys of observations (PostgreSQL bulk loads)", len(names))

class Store:
    """A migrated database: the engine plus the read queries every layer shares."""

    def __init__(self, db: str | os.PathLike | None = None, *, migrate: bool = True) -> None:
        self.url = database_url(db)
        self.engine = make_engine(self.url)
        #: seconds to wait for another process's write transaction (a load, a migration) before giving up
        self.write_wait = _env_seconds("WHYTREND_WRITE_WAIT", DEFAULT_WRITE_WAIT)
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def shown_url(self) -> str:
        """The URL for messages (password hidden)."""
        return self.engine.url.render_as_string(hide_password=True)

    def _database_error(self, exc: BaseException, doing: str = "open") -> StoreError:
        """One paragraph for a database error met while opening or preparing the store."""
        if self.engine.dialect.name == "sqlite":
            hint = ("Is it a whytrend SQLite file, and may this user read and write it and its folder? "
                    "If another program holds it locked, try again when it has finished.")
        else:
            hint = ("Check that the server is running and that the URL, user, password and database are right "
                    "(--db or $WHYTREND_DB).")
        return StoreError(f"Cannot {doing} database {self.shown_url}: {_error_text(exc)}. {hint}")

    # ---------------------------------------------------------------- schema
    def version(self) -> int:
        """Schema version of the database (0 for an empty database)."""
        try:
            return self._retrying_busy(self._read_version)
        except SQLAlchemyError as exc:
            raise self._database_error(exc) from None

    def _read_version(self) -> int:
        with self.engine.connect() as conn:
            return _schema_version(conn)

    def _retrying_busy(self, step: Callable[[], int]) -> int:
        """Run ``step`` again while SQLite says "database is locked" without waiting: a new file being
        switched to WAL, or its shared-memory index rebuilt, by another process opening it at the
        same moment (SQLite does not call the busy handler then). Up to :attr:`write_wait` seconds."""
        deadline = time.monotonic() + self.write_wait
        while True:
            try:
                return step()
            except OperationalError as exc:
                if self.engine.dialect.name != "sqlite" or not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
                log.debug("%s is busy while opening: trying again", self.shown_url)
                time.sleep(0.05)

    def _refuse_newer(self, current: int) -> None:
        if current > s.CURRENT_VERSION:
            raise StoreError(
                f"Database {self.shown_url} has schema version {current}, newer than this whytrend "
                f"(version {s.CURRENT_VERSION}). Upgrade whytrend to open it."
            )

    def migrate(self, target: int = s.CURRENT_VERSION) -> int:
        """Apply forward migrations up to ``target``; refuse a database from a newer release.

        Several processes may open a new or old store at once: the migration runs under the write
        lock (:meth:`writing`), and the version is read again once the lock is held, so exactly one
        process migrates and the others find the work done. Database errors become StoreError."""
        current = self.version()
        self._refuse_newer(current)
        if current >= target:
            return target
        try:
            return self._retrying_busy(lambda: self._migrate_locked(target))
        except SQLAlchemyError as exc:
            raise self._database_error(exc, "prepare") from None

    def _migrate_locked(self, target: int) -> int:
        """The migration, in one transaction under the write lock (all or nothing)."""
        with self.writing(MIGRATION_LOCK) as conn:
            current = _schema_version(conn)  # again: another process may have migrated meanwhile
            self._refuse_newer(current)
            if current == 0:
                existing = inspect(conn).get_table_names()
                if existing:
                    raise StoreError(
                        f"Database {self.shown_url} already holds tables ({', '.join(sorted(existing)[:5])}) but "
                        "is not a whytrend store. Use another --db."
                    )
            for version in range(current + 1, target + 1):
                for table in s.SCHEMA_STEPS[version]:
                    table.create(conn, checkfirst=True)
                    for index in table.indexes:
                        index.create(conn, checkfirst=True)
                insert_if_absent(conn, s.schema_version, [dict(version=version, applied_at=now())], ["version"])
                if version == 1:
                    insert_if_absent(conn, s.breakdowns, [dict(id=0, key="")], ["id"])
                if version in (1, 8):  # PostgreSQL stores made before version 8 lacked the view
                    for ddl in s.READABLE_VIEWS.get(conn.dialect.name, {}).values():
                        conn.exec_driver_sql(ddl)
                if version == 3:
                    filled = backfill_metric_series(conn)
                    log.info("backfilled metric_series: %d series", filled)
                if version == 4:
                    log.info("metric states: %d metrics", len(sync_states(conn)))
                if version == 7 and conn.dialect.name == "postgresql":
                    _drop_observation_foreign_keys(conn)
                log.info("migrated %s to schema version %d", self.shown_url, version)
        return target

    # ------------------------------------------------------------ write lock
    @contextmanager
    def writing(self, lock: int | None = None, *, wait: float | None = None,
                poll: Callable[[], None] | None = None) -> Iterator[Connection]:
        """A write transaction that holds the store's write lock from its first statement.

        SQLite: ``BEGIN IMMEDIATE``, the file's one write lock, taken before anything is read, so
        nothing read in the transaction changes before it writes (pysqlite would otherwise begin
        lazily at the first INSERT, after the reads). PostgreSQL: ``pg_advisory_xact_lock(lock)``
        when ``lock`` is given, released at commit or rollback. A process that finds the lock taken
        waits up to ``wait`` seconds (default :attr:`write_wait`), saying so in the log, calling
        ``poll`` between attempts (it may raise to stop waiting), then raises StoreError."""
        wait = self.write_wait if wait is None else wait
        with self.engine.begin() as conn:
            self._take_write_lock(conn, lock, wait, poll)
            yield conn

    def _take_write_lock(self, conn: Connection, lock: int | None, wait: float,
                         poll: Callable[[], None] | None) -> None:
        dialect = conn.dialect.name
        if dialect not in ("sqlite", "postgresql") or (dialect == "postgresql" and lock is None):
            return
        deadline = time.monotonic() + wait
        short = dialect == "sqlite" and poll is not None  # attempts of 0.2 s, so poll() runs often
        if short:
            conn.exec_driver_sql("PRAGMA busy_timeout=200")
        try:
            waited = False
            while True:
                if dialect == "sqlite":
                    try:
                        conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits busy_timeout for the lock
                        return
                    except OperationalError as exc:
                        if not _is_busy(exc):
                            raise
                elif conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock}).scalar():
                    return
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"Another process has been writing to {self.shown_url} for more than {wait:.0f} s (a load or "
                        "a migration), so this one gave up waiting. Try again when it has finished.")
                if not waited:
                    log.info("another process is writing to %s: waiting for it to finish", self.shown_url)
                    waited = True
                if poll is not None:
                    poll()
                if dialect == "postgresql":
                    time.sleep(0.2)
        finally:
            if short:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")

    # ------------------------------------------------------------- load lease
    def take_lease(self, source_id: str, *, timeout: float | None = None) -> "LoadLease":
        """Take the load lease of ``source_id`` (a row of ``load_locks``); give it back with
        :meth:`release_lease` in a ``finally``.

        Taken in its own short transaction, so a second process loading the same source sees it at
        once and fails with :class:`SourceBusyError`, writing nothing. A lease older than ``timeout``
        seconds (default $WHYTREND_LOAD_LOCK_TIMEOUT, else 6 hours), or held by a process of this host
        that no longer exists, is taken over."""
        timeout = _env_seconds("WHYTREND_LOAD_LOCK_TIMEOUT", DEFAULT_LOAD_LOCK_TIMEOUT) if timeout is None else timeout
        t = s.load_locks

        def refuse_if_held() -> None:  # a read: it never waits for another process's write lock
            with self.engine.connect() as look:
                row = look.execute(select(t).where(t.c.source_id == source_id)).first()
            if row is not None and _lease_stale(row, timeout) is None:
                raise _busy(row)

        refuse_if_held()
        for _attempt in range(5):
            with self.writing(poll=refuse_if_held) as conn:
                lease = LoadLease(source_id, _lease_holder(), time.time())
                row = dict(source_id=source_id, holder=lease.holder, acquired_at=lease.acquired_at)
                if insert_if_absent(conn, t, [row], ["source_id"]) == 1:
                    return lease
                held = conn.execute(select(t).where(t.c.source_id == source_id)).first()
                if held is None:
                    continue  # released in between: try again
                why = _lease_stale(held, timeout)
                if why is None:
                    raise _busy(held)
                taken = conn.execute(update(t).where(
                    t.c.source_id == source_id, t.c.holder == held.holder, t.c.acquired_at == held.acquired_at,
                ).values(holder=lease.holder, acquired_at=lease.acquired_at)).rowcount
                if taken == 1:
                    log.warning("took over the load lease of %s from %s (taken at %s): %s", source_id, held.holder,
                                _when(held.acquired_at), why)
                    return lease
        refuse_if_held()
        raise SourceBusyError(f"Source {source_id} is being loaded by another process; wait for it to finish and "
                              "run the load again.")

    def release_lease(self, lease: "LoadLease") -> None:
        """Give the lease back (only if still ours: a lease taken over after a timeout is left alone)."""
        t = s.load_locks
        try:
            with self.writing() as conn:
                conn.execute(delete(t).where(t.c.source_id == lease.source_id, t.c.holder == lease.holder,
                                             t.c.acquired_at == lease.acquired_at))
        except (SQLAlchemyError, WhytrendError) as exc:
            log.warning("could not release the load lease of %s (%s); the next load of it takes it over once "
                        "process %d has exited", lease.source_id, _error_text(exc), os.getpid())

    # ------------------------------------------------------ reference tables
    def sync_manifest(self, conn: Connection, manifest: Manifest) -> set[str]:
        """Upsert departments, areas, metrics (with a change log), model specs and events; returns the
        metrics whose state changed (a new or changed formula or ``[[model]]``: see loaders.freshness).

        Rows are inserted if absent (:func:`insert_if_absent`) and updated only where they differ,
        so two processes syncing at once neither collide on a key nor lock rows that did not change."""
        existing = {r.code: r for r in conn.execute(select(s.departments))}
        insert_if_absent(conn, s.departments, [dict(code=d.code, name=d.name) for d in manifest.departments
                                               if d.code not in existing], ["code"])
        for dept in manifest.departments:
            if dept.code in existing and existing[dept.code].name != dept.name:
                conn.execute(update(s.departments).where(s.departments.c.code == dept.code).values(name=dept.name))
        self._sync_areas(conn, manifest)
        self._sync_metrics(conn, manifest)
        self._sync_companions(conn)
        self._sync_measures(conn, manifest)
        self._sync_shares(conn, manifest)
        self._sync_model_specs(conn, manifest)
        self._sync_breaks(conn, manifest)
        self._sync_events(conn, manifest)
        return sync_states(conn)  # a changed formula or [[model]] changes what explanations depend on

    @staticmethod
    def _sync_events(conn: Connection, manifest: Manifest) -> None:
        """Insert the manifest's events, update the ones whose description, metrics or areas changed,
        and drop the stored explanations of every metric a new or changed event touches (they list
        the events their span crosses: explain.events). An event another manifest declared is never
        deleted."""
        e, ea = s.events, s.event_areas
        stored = {(r.period, r.title): r for r in conn.execute(select(e))}
        areas: dict[tuple[str, str], set[str]] = {}
        for r in conn.execute(select(ea)):
            areas.setdefault((r.period, r.title), set()).add(r.area_code)
        touched: set[str] = set()
        for ev in manifest.events:
            key = (ev.period, ev.title)
            metrics = json.dumps(list(ev.metrics))
            row = stored.get(key)
            if row is None:
                insert_if_absent(conn, e, [dict(period=ev.period, title=ev.title, description=ev.description,
                                                metrics=metrics)], ["period", "title"])
            elif (row.description, row.metrics) != (ev.description, metrics):
                conn.execute(update(e).where(e.c.period == ev.period, e.c.title == ev.title)
                             .values(description=ev.description, metrics=metrics))
                touched.update(json.loads(row.metrics))
            elif areas.get(key, set()) == set(ev.areas):
                continue
            if areas.get(key, set()) != set(ev.areas):
                conn.execute(delete(ea).where(ea.c.period == ev.period, ea.c.title == ev.title))
                if ev.areas:
                    insert_if_absent(conn, ea, [dict(period=ev.period, title=ev.title, area_code=a)
                                                for a in sorted(set(ev.areas))], ["period", "title", "area_code"])
            touched.update(ev.metrics)
        if touched:
            conn.execute(delete(s.explanations).where(s.explanations.c.metric_code.in_(sorted(touched))))

    @staticmethod
    def _sync_breaks(conn: Connection, manifest: Manifest) -> None:
        """Make the series breaks of the manifest's metrics the manifest's ``[[event]] break = true``
        ones; a metric whose breaks changed loses its stored explanations (their verdicts used the old
        breaks)."""
        codes = {m.code for m in manifest.metrics}
        wanted = {(metric, ev.period) for ev in manifest.events if ev.is_break for metric in ev.metrics
                  if metric in codes}
        stored = {(r.metric_code, r.period) for r in conn.execute(
            select(s.series_breaks).where(s.series_breaks.c.metric_code.in_(codes)))} if codes else set()
        if wanted == stored:
            return
        changed = {metric for metric, _ in wanted ^ stored}
        conn.execute(delete(s.series_breaks).where(s.series_breaks.c.metric_code.in_(changed)))
        rows = [dict(metric_code=m, period=p) for m, p in sorted(wanted) if m in changed]
        if rows:
            insert_if_absent(conn, s.series_breaks, rows, ["metric_code", "period"])
        conn.execute(delete(s.explanations).where(s.explanations.c.metric_code.in_(changed)))

    def series_breaks(self, metric: str) -> list[str]:
        """The periods (as the manifest wrote them) where ``metric``'s series breaks."""
        with self.engine.connect() as conn:
            return sorted(r.period for r in conn.execute(
                select(s.series_breaks.c.period).where(s.series_breaks.c.metric_code == metric)))

    @staticmethod
    def _sync_model_specs(conn: Connection, manifest: Manifest) -> None:
        for spec in manifest.models:
            values = dict(drivers=json.dumps(list(spec.drivers)), kind=spec.kind,
                          pseudo_drivers=json.dumps(list(spec.pseudo_drivers)), updated_at=now())
            row = conn.execute(select(s.model_specs).where(s.model_specs.c.metric_code == spec.metric)).first()
            if row is None:
                if insert_if_absent(conn, s.model_specs, [dict(metric_code=spec.metric, **values)], ["metric_code"]):
                    continue
                row = conn.execute(select(s.model_specs).where(s.model_specs.c.metric_code == spec.metric)).first()
            if (row.drivers, row.kind, row.pseudo_drivers) != (values["drivers"], values["kind"], values["pseudo_drivers"]):
                conn.execute(update(s.model_specs).where(s.model_specs.c.metric_code == spec.metric).values(**values))

    def _sync_areas(self, conn: Connection, manifest: Manifest) -> None:
        """Declared areas and their hierarchy; refused (ManifestError) where it would change the parent
        of an area another department declared (loaders.areas)."""
        departments = [d.code for d in manifest.departments]
        conflicts = hierarchy_conflicts(conn, [(a.code, a.parent) for a in manifest.areas], departments)
        if conflicts:
            raise ManifestError(f"{manifest.path}: " + " ".join(conflicts))
        rows = {r.code: r for r in conn.execute(select(s.areas))}
        declared: list[Any] = [_WHOLE_ROW, *manifest.areas]
        insert_if_absent(conn, s.areas, [
            dict(code=a.code, name=a.name, level=a.level, parent_id=None, declared=True)
            for a in declared if a.code not in rows], ["code"])
        for area in manifest.areas:
            row = rows.get(area.code)
            if row is not None and (row.name, row.level, row.declared) != (area.name, area.level, True):
                conn.execute(update(s.areas).where(s.areas.c.code == area.code)
                             .values(name=area.name, level=area.level, declared=True))
        rows = {r.code: r for r in conn.execute(select(s.areas.c.code, s.areas.c.id, s.areas.c.parent_id))}
        for area in manifest.areas:
            parent_id = rows[area.parent].id if area.parent else None
            if rows[area.code].parent_id != parent_id:  # only changes: an unchanged row is not locked
                conn.execute(update(s.areas).where(s.areas.c.code == area.code).values(parent_id=parent_id))
        claim_declared(conn, [a.code for a in manifest.areas], departments)

    def _sync_metrics(self, conn: Connection, manifest: Manifest) -> None:
        rows = {r.code: r for r in conn.execute(select(s.metrics))}
        fields = ("name", "department_code", "unit", "aggregation", "higher_is_better", "formula", "description")
        for metric in manifest.metrics:
            values = dict(name=metric.name, department_code=metric.department, unit=metric.unit,
                          aggregation=metric.aggregation, higher_is_better=metric.higher_is_better,
                          formula=metric.formula, description=metric.description)
            row = rows.get(metric.code)
            if row is None:
                if insert_if_absent(conn, s.metrics, [dict(code=metric.code, **values)], ["code"]):
                    conn.execute(insert(s.metric_changes).values(
                        metric_code=metric.code, changed_at=now(), field="created", old=None, new=metric.name))
                    continue
                row = conn.execute(select(s.metrics).where(s.metrics.c.code == metric.code)).first()
            changed = [f for f in fields if getattr(row, f) != values[f]]
            if changed:
                # guarded: when another process made the same change first, nothing is updated or logged twice
                result = conn.execute(update(s.metrics).where(
                    s.metrics.c.code == metric.code,
                    or_(*(s.metrics.c[f].is_distinct_from(values[f]) for f in changed))).values(**values))
                for f in (changed if result.rowcount else ()):
                    conn.execute(insert(s.metric_changes).values(
                        metric_code=metric.code, changed_at=now(), field=f,
                        old=None if getattr(row, f) is None else str(getattr(row, f)),
                        new=None if values[f] is None else str(values[f])))

    @staticmethod
    def _sync_measures(conn: Connection, manifest: Manifest) -> None:
        """Make each manifest metric's deflator, prices year and population the stored ones; a metric
        whose measures changed loses its stored explanations."""
        t = s.metric_measures
        stored = {r.metric_code: (r.deflator, r.prices_of, r.per_head) for r in conn.execute(select(t))}
        changed = []
        for metric in manifest.metrics:
            wanted = (metric.deflator, metric.prices_of, metric.per_head)
            if stored.get(metric.code, ("", "", "")) == wanted:
                continue
            changed.append(metric.code)
            conn.execute(delete(t).where(t.c.metric_code == metric.code))
            if any(wanted):
                insert_if_absent(conn, t, [dict(metric_code=metric.code, deflator=wanted[0], prices_of=wanted[1],
                                                per_head=wanted[2])], ["metric_code"])
        if changed:
            conn.execute(delete(s.explanations).where(s.explanations.c.metric_code.in_(changed)))

    def measures(self, metric: str) -> dict[str, str]:
        """The metric's deflator, prices year and population metric ('' where none)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(s.metric_measures).where(s.metric_measures.c.metric_code == metric)).first()
        return {"deflator": row.deflator if row else "", "prices_of": row.prices_of if row else "",
                "per_head": row.per_head if row else ""}

    @staticmethod
    def _sync_companions(conn: Connection) -> None:
        """Keep each plan or forecast series (loaders.series) described as its base metric is."""
        rows = {r.code: r for r in conn.execute(select(s.metrics))}
        for code, row in rows.items():
            base_code, series = split_code(code)
            base = rows.get(base_code) if series != "outturn" else None
            if base is None:
                continue
            values = dict(department_code=base.department_code, unit=base.unit, aggregation=base.aggregation,
                          higher_is_better=base.higher_is_better, formula=companion_formula(base.formula, series))
            if any(getattr(row, k) != v for k, v in values.items()):
                conn.execute(update(s.metrics).where(s.metrics.c.code == code).values(**values))

    @staticmethod
    def _sync_shares(conn: Connection, manifest: Manifest) -> None:
        """Make each manifest metric's ``shared`` list the stored one (the manifest is the truth)."""
        for metric in manifest.metrics:
            stored = {r.department_code for r in conn.execute(
                select(s.metric_shares.c.department_code).where(s.metric_shares.c.metric_code == metric.code))}
            wanted = set(metric.shared_with)
            if stored == wanted:
                continue
            conn.execute(delete(s.metric_shares).where(s.metric_shares.c.metric_code == metric.code))
            if wanted:
                insert_if_absent(conn, s.metric_shares, [dict(metric_code=metric.code, department_code=d)
                                                         for d in sorted(wanted)], ["metric_code", "department_code"])

    def metric_shares(self) -> dict[str, frozenset[str]]:
        """Metric code -> departments it is shared with ('*' = every department); unshared metrics absent."""
        shares: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(select(s.metric_shares)):
                shares.setdefault(row.metric_code, set()).add(row.department_code)
        return {code: frozenset(depts) for code, depts in shares.items()}

    def ensure_breakdowns(self, conn: Connection, keys: Iterable[str]) -> dict[str, int]:
        ids = {r.key: r.id for r in conn.execute(select(s.breakdowns))}
        missing = sorted(set(keys) - set(ids))
        if missing:
            insert_if_absent(conn, s.breakdowns, [dict(key=k) for k in missing], ["key"])
            ids = {r.key: r.id for r in conn.execute(select(s.breakdowns))}
        return ids

    @staticmethod
    def area_ids(conn: Connection) -> dict[str, int]:
        return {r.code: r.id for r in conn.execute(select(s.areas.c.code, s.areas.c.id))}

    @staticmethod
    def ensure_companions(conn: Connection, codes: Iterable[str]) -> list[str]:
        """Create the companion metric rows (loaders.series) of ``codes`` that are a plan or forecast of
        a known metric: the base metric's department, unit and aggregation, its formula over the same
        series of its components, and so on down the formula. Returns the codes created; a code whose
        base metric is unknown is left for the caller to report."""
        from .formula import parse_formula

        rows = {r.code: r for r in conn.execute(select(s.metrics))}
        created: list[str] = []
        wanted = [c for c in codes if c not in rows and is_companion(c)]
        # upwards too: a formula over these metrics gets the same series (spend = caseload * award)
        series_of = {split_code(c) for c in wanted}
        formulas = {r.code: parse_formula(r.formula).components for r in rows.values()
                    if r.formula and not is_companion(r.code)}
        grown = True
        while grown:
            grown = False
            for user, parts in formulas.items():
                for part, series in list(series_of):
                    if part in parts and (user, series) not in series_of:
                        series_of.add((user, series))
                        wanted.append(series_code(user, series))
                        grown = True
        while wanted:
            code = wanted.pop()
            base_code, series = split_code(code)
            base = rows.get(base_code)
            if base is None or code in rows:
                continue
            formula = companion_formula(base.formula, series)
            values = dict(code=code, name=f"{base.name} ({series_words(series)})", department_code=base.department_code,
                          unit=base.unit, aggregation=base.aggregation, higher_is_better=base.higher_is_better,
                          formula=formula, description=f"The {series_words(series)} of {base_code}.")
            if insert_if_absent(conn, s.metrics, [values], ["code"]):
                created.append(code)
            rows[code] = conn.execute(select(s.metrics).where(s.metrics.c.code == code)).first()
            if base.formula:  # the same series of each component, so the formula can be evaluated
                wanted += [series_code(c, series) for c in parse_formula(base.formula).components
                           if series_code(c, series) not in rows]
        return created

    @staticmethod
    def metric_ids(conn: Connection) -> dict[str, int]:
        return {r.code: r.id for r in conn.execute(select(s.metrics.c.code, s.metrics.c.id))}

    # ------------------------------------------------------------------ reads
    def areas_frame(self) -> pd.DataFrame:
        """Every area with its parent's code: code, name, level, parent, declared."""
        parent = s.areas.alias("parent")
        query = select(s.areas.c.id, s.areas.c.code, s.areas.c.name, s.areas.c.level,
                       parent.c.code.label("parent"), s.areas.c.declared).select_from(
            s.areas.outerjoin(parent, s.areas.c.parent_id == parent.c.id)).order_by(s.areas.c.code)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(),
                                columns=["id", "code", "name", "level", "parent", "declared"])

    def metrics_frame(self, *, include_series: bool = False) -> pd.DataFrame:
        """Every metric; the plan and forecast series of metrics (loaders.series) only with
        ``include_series``."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.metrics).order_by(s.metrics.c.department_code, s.metrics.c.code)).mappings().all()
        frame = pd.DataFrame(rows, columns=[c.name for c in s.metrics.columns])
        return frame if include_series or frame.empty else frame[~frame["code"].map(is_companion)]

    def metric_row(self, code: str) -> dict | None:
        """One metric's row (plan and forecast series included), or None: a one-row read, because
        building an explanation asks for each driver's metadata in turn."""
        with self.engine.connect() as conn:
            row = conn.execute(select(s.metrics).where(s.metrics.c.code == code)).mappings().first()
        return None if row is None else dict(row)

    def latest_load_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(s.loads.c.id))).scalar() or 0)

    def forget_connections(self) -> None:
        """In a forked child: drop the pooled connections inherited from the parent without closing them
        (closing would end the parent's PostgreSQL sessions); new ones are opened on demand."""
        self.engine.dispose(close=False)

    # ------------------------------------------------------------ freshness (loaders.freshness)
    def metric_states(self, metrics: Iterable[str] | None = None) -> dict[str, MetricState]:
        """Each metric's state (data vintage, model version, generation): what its caches are keyed by."""
        with self.engine.connect() as conn:
            return read_states(conn, metrics)

    def metric_state(self, metric: str) -> MetricState:
        """One metric's state (a zero state for a metric never loaded)."""
        return self.metric_states([metric]).get(metric, MetricState())

    def generation(self) -> tuple[int, int]:
        """(latest load id, latest state generation): changes whenever data, a manifest's formulas and
        models, or an active model changes anywhere in the store. Memos of derived values key on it."""
        with self.engine.connect() as conn:
            row = conn.execute(select(select(func.max(s.loads.c.id)).scalar_subquery(),
                                      select(func.max(s.metric_states.c.generation)).scalar_subquery())).first()
        return int(row[0] or 0), int(row[1] or 0)

    def observations(
        self,
        metrics: Sequence[str],
        *,
        areas: Sequence[str] | None = None,
        breakdown: str | None = "",
        freq: str | None = None,
        periods: Sequence[str] | None = None,
        as_at: int | None = None,
        first_published: bool = False,
        conn: Connection | None = None,
    ) -> pd.DataFrame:
        """Values of ``metrics`` as at a vintage (latest by default), one row per key.

        Columns: metric, area, breakdown, freq, period (ISO start date), value, status,
        load_id, derived. ``breakdown=None`` returns every breakdown, ``''`` the totals.
        ``first_published`` picks each key's earliest vintage instead ("as first published").
        Withdrawn keys are left out. Codes are resolved to ids first so SQLite answers from
        the clustered primary key: a range per series, a seek per area for cross-sections.
        """
        if conn is None:
            with self.engine.connect() as own:
                return self.observations(metrics, areas=areas, breakdown=breakdown, freq=freq, periods=periods,
                                         as_at=as_at, first_published=first_published, conn=own)
        o = s.observations
        metric_ids = _ids(conn, s.metrics, metrics)
        columns = ["metric", "area", "breakdown", "freq", "period", "value", "status", "load_id", "derived"]
        where: list[ColumnElement[bool]] = [o.c.metric_id.in_(list(metric_ids.values()))]
        # a column the filter pins to one value is not fetched (a third of a read's cost), but filled in
        pinned: dict[str, int] = {"metric_id": next(iter(metric_ids.values()))} if len(metric_ids) == 1 else {}
        area_ids = _ids(conn, s.areas, areas) if areas is not None else None
        if area_ids is not None:
            where.append(o.c.area_id.in_(list(area_ids.values())))
        if breakdown is not None:
            bid = conn.execute(select(s.breakdowns.c.id).where(s.breakdowns.c.key == breakdown)).scalar()
            if bid is None:
                return pd.DataFrame(columns=columns)
            where.append(o.c.breakdown_id == bid)
            pinned["breakdown_id"] = bid
        if freq is not None:
            where.append(o.c.freq == s.FREQ_CODES[freq])
            pinned["freq"] = s.FREQ_CODES[freq]
        if periods is not None:
            where.append(o.c.period.in_([iso_to_day(p) for p in periods]))
        if as_at is not None:
            where.append(o.c.load_id <= as_at)
        fetched = [c for c in ("metric_id", "area_id", "breakdown_id", "freq", "period", "value", "status",
                               "load_id", "derived") if c not in pinned]
        query = (select(*(o.c[c] for c in fetched)).where(*where)
                 .order_by(o.c.metric_id, o.c.area_id, o.c.breakdown_id, o.c.freq, o.c.period, o.c.load_id))
        frame = frame_of(conn.execute(query), fetched, _OBSERVATION_TYPES)
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame = frame.assign(**pinned)
        key = [c for c in ("metric_id", "area_id", "breakdown_id", "freq", "period") if c not in pinned]
        frame = frame.drop_duplicates(key, keep="first" if first_published else "last")
        frame = frame[frame["status"] != "withdrawn"]
        area_codes = ({v: k for k, v in area_ids.items()} if area_ids is not None
                      else dict(conn.execute(select(s.areas.c.id, s.areas.c.code)).all()))
        breakdown_keys = dict(conn.execute(select(s.breakdowns.c.id, s.breakdowns.c.key)).all())
        out = pd.DataFrame({
            "metric": frame["metric_id"].map({v: k for k, v in metric_ids.items()}),
            "area": frame["area_id"].map(area_codes),
            "breakdown": frame["breakdown_id"].map(breakdown_keys),
            "freq": frame["freq"].map(s.FREQ_LETTERS),
            "period": decode_days(frame["period"]),
            "value": frame["value"].astype("float64"),
            "status": frame["status"], "load_id": frame["load_id"], "derived": frame["derived"],
        })
        return out.reset_index(drop=True)

    def revisions(self, metric: str, area: str, *, breakdown: str = "") -> pd.DataFrame:
        """Every vintage of every period of one series (for 'what a revision changed')."""
        o = s.observations
        with self.engine.connect() as conn:
            metric_id = _ids(conn, s.metrics, [metric])[metric]
            area_id = _ids(conn, s.areas, [area])[area]
            bid = conn.execute(select(s.breakdowns.c.id).where(s.breakdowns.c.key == breakdown)).scalar()
            query = (select(o.c.freq, o.c.period, o.c.load_id, o.c.value, o.c.status)
                     .where(o.c.metric_id == metric_id, o.c.area_id == area_id, o.c.breakdown_id == bid)
                     .order_by(o.c.freq, o.c.period, o.c.load_id))
            frame = frame_of(conn.execute(query), ["freq", "period", "load_id", "value", "status"])
        frame["freq"] = frame["freq"].map(s.FREQ_LETTERS)
        frame["period"] = decode_days(frame["period"])
        return frame

    def sources_frame(self) -> pd.DataFrame:
        """Each source with its latest load (vintage), grade and counts."""
        latest = (select(s.loads.c.source_id, func.max(s.loads.c.id).label("load_id"))
                  .group_by(s.loads.c.source_id).subquery())
        query = (
            select(s.sources.c.id.label("source"), s.sources.c.department_code.label("department"),
                   s.sources.c.title, s.sources.c.format, s.loads.c.id.label("vintage"),
                   s.loads.c.finished_at.label("loaded_at"), s.loads.c.rows_loaded,
                   s.loads.c.rows_quarantined, s.loads.c.values_revised, s.loads.c.grade,
                   s.loads.c.grade_reasons, s.loads.c.period_min, s.loads.c.period_max)
            .select_from(s.sources.outerjoin(latest, latest.c.source_id == s.sources.c.id)
                         .outerjoin(s.loads, s.loads.c.id == latest.c.load_id))
            .order_by(s.sources.c.id)
        )
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
        return frame

    def loads_frame(self, source: str | None = None) -> pd.DataFrame:
        """Vintage history (one row per load) with counts and grades, oldest first."""
        query = select(s.loads).order_by(s.loads.c.id)
        if source is not None:
            query = query.where(s.loads.c.source_id == source)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in s.loads.columns])

    def quarantine_frame(self, load_id: int | None = None, *, limit: int = 1000) -> pd.DataFrame:
        query = select(s.quarantine).order_by(s.quarantine.c.load_id, s.quarantine.c.row_number).limit(limit)
        if load_id is not None:
            query = query.where(s.quarantine.c.load_id == load_id)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in s.quarantine.columns])

    def has_source(self, source_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(s.sources.c.id).where(s.sources.c.id == source_id)).first() is not None

    def series_frame(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Each metric's frequencies with live values, from ``metric_series`` (written by the loads; never a
        scan of observations): metric, freq (letter), n_values, n_periods, period_min and period_max (ISO
        start dates), load_id (the latest load that wrote a value of it). ``metrics``: only these codes."""
        ms, m = s.metric_series, s.metrics
        query = (select(m.c.code, ms.c.freq, ms.c.n_values, ms.c.n_periods, ms.c.period_min, ms.c.period_max,
                        ms.c.load_id).join(m, m.c.id == ms.c.metric_id).order_by(m.c.code, ms.c.freq))
        if metrics is not None:
            query = query.where(m.c.code.in_(list(metrics)))
        columns = ["metric", "freq", "n_values", "n_periods", "period_min", "period_max", "load_id"]
        with self.engine.connect() as conn:
            frame = pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=columns)
        frame["freq"] = frame["freq"].map(s.FREQ_LETTERS)
        for column in ("period_min", "period_max"):
            frame[column] = [day_to_iso(d) if d is not None else None for d in frame[column]]
        return frame

    def main_frequencies(self, metrics: Sequence[str] | None = None) -> dict[str, str]:
        """Each metric's main frequency (letter): the one with the most periods of live values (on a tie the
        shorter one). Metrics without live values are absent."""
        ms, m = s.metric_series, s.metrics
        query = (select(m.c.code, ms.c.freq, ms.c.n_periods).join(m, m.c.id == ms.c.metric_id)
                 .order_by(m.c.code, ms.c.freq))
        if metrics is not None:
            query = query.where(m.c.code.in_(list(metrics)))
        best: dict[str, tuple[int, str]] = {}
        with self.engine.connect() as conn:  # a row per metric and frequency, ordered by frequency code
            for code, freq, n_periods in conn.execute(query):
                if code not in best or n_periods > best[code][0]:
                    best[code] = (int(n_periods), s.FREQ_LETTERS[freq])
        return {code: freq for code, (_, freq) in best.items()}


def _ids(conn: Connection, table, codes: Iterable[str]) -> dict[str, int]:
    """Ids of the given codes; unknown codes are simply absent (a query for them finds nothing)."""
    codes = list(dict.fromkeys(codes))
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        found.update(dict(conn.execute(select(table.c.code, table.c.id).where(table.c.code.in_(chunk))).all()))
    return found


def iso_to_day(iso: str | dt.date) -> int:
    """ISO date (or date) -> days since 1970-01-01, the stored form of a period start."""
    day = dt.date.fromisoformat(iso) if isinstance(iso, str) else iso
    return day.toordinal() - s.EPOCH_ORDINAL


def day_to_iso(day: int) -> str:
    return dt.date.fromordinal(int(day) + s.EPOCH_ORDINAL).isoformat()


def decode_days(days: pd.Series) -> pd.Series:
    """Vectorised day numbers -> ISO strings (each distinct day converted once)."""
    unique = {d: day_to_iso(d) for d in pd.unique(days)}
    return days.map(unique).astype(object)


@dataclass(frozen=True)
class LatestLoad:
    load_id: int
    sha256: str
    spec_sha256: str


def latest_load(conn: Connection, source_id: str) -> LatestLoad | None:
    """The last successful load of a source (what a byte-identical reload is compared with)."""
    row = conn.execute(
        select(s.loads.c.id, s.loads.c.file_sha256, s.loads.c.spec_sha256).where(s.loads.c.source_id == source_id)
        .order_by(s.loads.c.id.desc()).limit(1)
    ).first()
    return LatestLoad(row.id, row.file_sha256, row.spec_sha256) if row else None


# ------------------------------------------------------------------ helpers of the store
@dataclass(frozen=True)
class _AreaRow:
    code: str
    name: str
    level: str


#: the pseudo-area every value rolls up to
_WHOLE_ROW = _AreaRow(WHOLE_AREA, WHOLE_AREA_NAME, WHOLE_AREA_LEVEL)


def _schema_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(select(func.max(s.schema_version.c.version))).scalar() or 0)


def backfill_metric_series(conn: Connection) -> int:
    """Fill ``metric_series`` from every row of ``observations`` (once: the schema-3 migration of a store
    made before it). Loads keep it in step afterwards without reading observations again. Returns how many
    (metric, frequency) rows were written."""
    o, ms = s.observations, s.metric_series
    ranked = select(
        o.c.metric_id, o.c.freq, o.c.period, o.c.status,
        func.row_number().over(partition_by=[o.c.metric_id, o.c.area_id, o.c.breakdown_id, o.c.freq, o.c.period],
                               order_by=o.c.load_id.desc()).label("rank"),
    ).subquery("ranked")
    live = (select(ranked.c.metric_id, ranked.c.freq, func.count().label("n_values"),
                   func.count(ranked.c.period.distinct()).label("n_periods"),
                   func.min(ranked.c.period).label("period_min"), func.max(ranked.c.period).label("period_max"))
            .where(ranked.c.rank == 1, ranked.c.status != "withdrawn")
            .group_by(ranked.c.metric_id, ranked.c.freq).subquery("live"))
    touched = (select(o.c.metric_id, o.c.freq, func.max(o.c.load_id).label("load_id"))
               .group_by(o.c.metric_id, o.c.freq).subquery("touched"))
    query = select(live.c.metric_id, live.c.freq, live.c.n_values, live.c.n_periods, live.c.period_min,
                   live.c.period_max, touched.c.load_id).join(
        touched, and_(touched.c.metric_id == live.c.metric_id, touched.c.freq == live.c.freq))
    conn.execute(delete(ms))
    conn.execute(insert(ms).from_select(
        ["metric_id", "freq", "n_values", "n_periods", "period_min", "period_max", "load_id"], query))
    return int(conn.execute(select(func.count()).select_from(ms)).scalar() or 0)


@dataclass(frozen=True)
class LoadLease:
    """A held row of ``load_locks``: who holds it and since when (epoch seconds)."""

    source_id: str
    holder: str
    acquired_at: float


def _lease_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="seconds")


def _busy(row) -> SourceBusyError:
    host, _, pid = str(row.holder).rpartition(":")
    return SourceBusyError(
        f"Source {row.source_id} is being loaded by another process (pid {pid} on host {host or '?'} since "
        f"{_when(row.acquired_at)}); wait for it to finish and run the load again.")


def _lease_stale(row, timeout: float) -> str | None:
    """Why a lease may be taken over (None: it is live)."""
    age = time.time() - float(row.acquired_at)
    if age > timeout:
        return f"it was taken {age:.0f} s ago, longer than a load may hold it ({timeout:.0f} s)"
    host, _, pid = str(row.holder).rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _process_exists(int(pid)):
        return f"process {pid} on this host no longer exists"
    return None


def _process_exists(pid: int) -> bool:
    """Whether a process of this host is running (a zombie, which has exited, is not)."""
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT: cannot check cheaply, assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by another user
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
