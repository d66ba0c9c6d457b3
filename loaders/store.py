"""Open the store, migrate it forward, keep reference tables in step with manifests, and read.

Everything that knows how vintages are laid out in ``observations`` lives here, so other
modules ask for "the latest values" or "as at vintage N" and never repeat that logic.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, func, insert, inspect, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from . import schema as s
from .errors import StoreError
from .manifest import Manifest

log = logging.getLogger(__name__)

DEFAULT_DB = "sqlite:///whytrend.db"


def frame_of(result, columns: list[str]) -> pd.DataFrame:
    """A DataFrame from a SQLAlchemy result of plain numeric/text columns, fetched through the
    DBAPI cursor: SQLAlchemy's per-row processing and pandas probing Row objects cost seconds
    on a million rows, and these columns need no type processing."""
    cursor = getattr(result, "cursor", None)
    rows = cursor.fetchall() if cursor is not None else [tuple(row) for row in result]
    result.close()
    return pd.DataFrame(rows, columns=columns)


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
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
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


class Store:
    """A migrated database: the engine plus the read queries every layer shares."""

    def __init__(self, db: str | os.PathLike | None = None, *, migrate: bool = True) -> None:
        self.url = database_url(db)
        self.engine = make_engine(self.url)
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    # ---------------------------------------------------------------- schema
    def version(self) -> int:
        """Schema version of the database (0 for an empty database)."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("schema_version"):
                    return 0
                return int(conn.execute(select(func.max(s.schema_version.c.version))).scalar() or 0)
        except OperationalError as exc:
            raise StoreError(f"Cannot open database {self.url}: {exc.orig}. Is it a whytrend SQLite file?") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"Cannot open database {self.url}: {exc}.") from None

    def migrate(self, target: int = s.CURRENT_VERSION) -> int:
        """Apply forward migrations up to ``target``; refuse a database from a newer release."""
        current = self.version()
        if current > s.CURRENT_VERSION:
            raise StoreError(
                f"Database {self.url} has schema version {current}, newer than this whytrend "
                f"(version {s.CURRENT_VERSION}). Upgrade whytrend to open it."
            )
        if current == 0:
            with self.engine.connect() as conn:
                existing = inspect(conn).get_table_names()
            if existing:
                raise StoreError(
                    f"Database {self.url} already holds tables ({', '.join(sorted(existing)[:5])}) but is not a "
                    "whytrend store. Use another --db."
                )
        with self.engine.begin() as conn:
            for version in range(current + 1, target + 1):
                for table in s.SCHEMA_STEPS[version]:
                    table.create(conn, checkfirst=True)
                    for index in table.indexes:
                        index.create(conn, checkfirst=True)
                conn.execute(insert(s.schema_version).values(version=version, applied_at=now()))
                if version == 1:
                    conn.execute(insert(s.breakdowns).values(id=0, key=""))
                    if conn.dialect.name == "sqlite":
                        for ddl in s.SQLITE_VIEWS.values():
                            conn.exec_driver_sql(ddl)
                log.info("migrated %s to schema version %d", self.url, version)
        return target

    # ------------------------------------------------------ reference tables
    def sync_manifest(self, conn: Connection, manifest: Manifest) -> None:
        """Upsert departments, areas, metrics (with a change log), model specs and events."""
        existing = {r.code: r for r in conn.execute(select(s.departments))}
        for dept in manifest.departments:
            if dept.code not in existing:
                conn.execute(insert(s.departments).values(code=dept.code, name=dept.name))
            elif existing[dept.code].name != dept.name:
                conn.execute(update(s.departments).where(s.departments.c.code == dept.code).values(name=dept.name))
        self._sync_areas(conn, manifest)
        self._sync_metrics(conn, manifest)
        for spec in manifest.models:
            values = dict(drivers=json.dumps(list(spec.drivers)), kind=spec.kind,
                          pseudo_drivers=json.dumps(list(spec.pseudo_drivers)), updated_at=now())
            row = conn.execute(select(s.model_specs).where(s.model_specs.c.metric_code == spec.metric)).first()
            if row is None:
                conn.execute(insert(s.model_specs).values(metric_code=spec.metric, **values))
            elif (row.drivers, row.kind, row.pseudo_drivers) != (values["drivers"], values["kind"], values["pseudo_drivers"]):
                conn.execute(update(s.model_specs).where(s.model_specs.c.metric_code == spec.metric).values(**values))
        known = {(r.period, r.title) for r in conn.execute(select(s.events.c.period, s.events.c.title))}
        for ev in manifest.events:
            if (ev.period, ev.title) not in known:
                conn.execute(insert(s.events).values(period=ev.period, title=ev.title, description=ev.description,
                                                     metrics=json.dumps(list(ev.metrics))))

    def _sync_areas(self, conn: Connection, manifest: Manifest) -> None:
        ids = self.area_ids(conn)
        if s.WHOLE_AREA not in ids:
            conn.execute(insert(s.areas).values(code=s.WHOLE_AREA, name="All areas", level="whole", declared=True))
        rows = {r.code: r for r in conn.execute(select(s.areas))}
        for area in manifest.areas:
            row = rows.get(area.code)
            if row is None:
                conn.execute(insert(s.areas).values(code=area.code, name=area.name, level=area.level, declared=True))
            elif (row.name, row.level, row.declared) != (area.name, area.level, True):
                conn.execute(update(s.areas).where(s.areas.c.code == area.code)
                             .values(name=area.name, level=area.level, declared=True))
        ids = self.area_ids(conn)
        for area in manifest.areas:
            parent_id = ids[area.parent] if area.parent else None
            conn.execute(update(s.areas).where(s.areas.c.code == area.code).values(parent_id=parent_id))

    def _sync_metrics(self, conn: Connection, manifest: Manifest) -> None:
        rows = {r.code: r for r in conn.execute(select(s.metrics))}
        fields = ("name", "department_code", "unit", "aggregation", "higher_is_better", "formula", "description")
        for metric in manifest.metrics:
            values = dict(name=metric.name, department_code=metric.department, unit=metric.unit,
                          aggregation=metric.aggregation, higher_is_better=metric.higher_is_better,
                          formula=metric.formula, description=metric.description)
            row = rows.get(metric.code)
            if row is None:
                conn.execute(insert(s.metrics).values(code=metric.code, **values))
                conn.execute(insert(s.metric_changes).values(
                    metric_code=metric.code, changed_at=now(), field="created", old=None, new=metric.name))
                continue
            changed = [f for f in fields if getattr(row, f) != values[f]]
            if changed:
                conn.execute(update(s.metrics).where(s.metrics.c.code == metric.code).values(**values))
                for f in changed:
                    conn.execute(insert(s.metric_changes).values(
                        metric_code=metric.code, changed_at=now(), field=f,
                        old=None if getattr(row, f) is None else str(getattr(row, f)),
                        new=None if values[f] is None else str(values[f])))

    def ensure_areas(self, conn: Connection, codes: Iterable[str], names: dict[str, str] | None = None) -> dict[str, int]:
        """Create areas a source names but no manifest declared (name = code, no parent)."""
        ids = self.area_ids(conn)
        missing = sorted(set(codes) - set(ids))
        if missing:
            names = names or {}
            conn.execute(insert(s.areas), [
                dict(code=c, name=names.get(c) or c, level="", parent_id=None, declared=False) for c in missing])
            ids = self.area_ids(conn)
            log.info("created %d undeclared areas", len(missing))
        return ids

    def ensure_breakdowns(self, conn: Connection, keys: Iterable[str]) -> dict[str, int]:
        ids = {r.key: r.id for r in conn.execute(select(s.breakdowns))}
        missing = sorted(set(keys) - set(ids))
        if missing:
            conn.execute(insert(s.breakdowns), [dict(key=k) for k in missing])
            ids = {r.key: r.id for r in conn.execute(select(s.breakdowns))}
        return ids

    @staticmethod
    def area_ids(conn: Connection) -> dict[str, int]:
        return {r.code: r.id for r in conn.execute(select(s.areas.c.code, s.areas.c.id))}

    @staticmethod
    def metric_ids(conn: Connection) -> dict[str, int]:
        return {r.code: r.id for r in conn.execute(select(s.metrics.c.code, s.metrics.c.id))}

    # ------------------------------------------------------------------ reads
    def areas_frame(self) -> pd.DataFrame:
        """All areas with parent codes: code, name, level, parent, declared."""
        parent = s.areas.alias("parent")
        query = select(s.areas.c.id, s.areas.c.code, s.areas.c.name, s.areas.c.level,
                       parent.c.code.label("parent"), s.areas.c.declared).select_from(
            s.areas.outerjoin(parent, s.areas.c.parent_id == parent.c.id)).order_by(s.areas.c.code)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(),
                                columns=["id", "code", "name", "level", "parent", "declared"])

    def metrics_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.metrics).order_by(s.metrics.c.department_code, s.metrics.c.code)).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in s.metrics.columns])

    def latest_load_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(s.loads.c.id))).scalar() or 0)

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
        query = select(o.c.metric_id, o.c.area_id, o.c.breakdown_id, o.c.freq, o.c.period, o.c.value, o.c.status,
                       o.c.load_id, o.c.derived).where(o.c.metric_id.in_(list(metric_ids.values())))
        area_ids = _ids(conn, s.areas, areas) if areas is not None else None
        if area_ids is not None:
            query = query.where(o.c.area_id.in_(list(area_ids.values())))
        if breakdown is not None:
            bid = conn.execute(select(s.breakdowns.c.id).where(s.breakdowns.c.key == breakdown)).scalar()
            if bid is None:
                return pd.DataFrame(columns=columns)
            query = query.where(o.c.breakdown_id == bid)
        if freq is not None:
            query = query.where(o.c.freq == s.FREQ_CODES[freq])
        if periods is not None:
            query = query.where(o.c.period.in_([iso_to_day(p) for p in periods]))
        if as_at is not None:
            query = query.where(o.c.load_id <= as_at)
        query = query.order_by(o.c.metric_id, o.c.area_id, o.c.breakdown_id, o.c.freq, o.c.period, o.c.load_id)
        frame = frame_of(conn.execute(query), ["metric_id", "area_id", "breakdown_id", "freq", "period", "value",
                                               "status", "load_id", "derived"])
        if frame.empty:
            return pd.DataFrame(columns=columns)
        key = ["metric_id", "area_id", "breakdown_id", "freq", "period"]
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
