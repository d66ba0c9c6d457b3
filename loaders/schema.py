"""The tables of the whytrend store: the one contract that every other module reads.

Design notes (see README "Store"):

* ``observations`` keeps **every vintage**: a load writes the values that are new or
  differ from the latest earlier value of the same key (plus "withdrawn" tombstones), so
  the latest value of a key is the row with the highest ``load_id`` and "as at vintage N"
  is the highest ``load_id <= N``. Unchanged values are not copied, which keeps a reload
  of a large file cheap while every earlier vintage stays answerable.
* The table is clustered (SQLite ``WITHOUT ROWID``) on
  (metric, area, breakdown, frequency, period, load) and nothing else: "one metric, one
  area, all periods" is one range of that key, and "one metric, all areas, one period" is
  one seek per area (``area_id IN (...)`` with the ids from ``areas``), both answered from
  the table's own B-tree without a lookup. A second covering index would double the cost
  of every load (measured: 430k -> 200k rows/s) for no gain on either query.
* Frequency and period are integers (:data:`FREQ_CODES`; days since 1970-01-01 of the
  period's first day): text keys measured 1.4x slower to insert. The view
  ``observations_readable`` decodes them for people reading the store with sqlite3 or psql.
* Roll-ups to parent areas and totals over breakdowns are stored rows
  (``derived`` > 0) computed at load time, so a chart never aggregates raw rows.
* Surrogate integer ids for metrics, areas and breakdowns keep the big table small.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


#: ``observations.derived`` values
LEAF, AREA_ROLLUP, BREAKDOWN_TOTAL, FORMULA = 0, 1, 2, 3

#: ``observations.freq`` codes
FREQ_CODES = {"D": 1, "W": 2, "M": 3, "Q": 4, "FQ": 5, "Y": 6, "FY": 7}
FREQ_LETTERS = {code: letter for letter, code in FREQ_CODES.items()}
EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String(32), nullable=False),
)

departments = Table(
    "departments", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
)

areas = Table(
    "areas", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("level", String(64), nullable=False, default=""),
    Column("parent_id", Integer, ForeignKey("areas.id"), nullable=True),
    Column("declared", Boolean, nullable=False, default=True),
)

metrics = Table(
    "metrics", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("department_code", String(32), ForeignKey("departments.code"), nullable=False),
    Column("unit", Text, nullable=False, default=""),
    Column("aggregation", String(16), nullable=False, default="sum"),
    Column("higher_is_better", Boolean, nullable=True),
    Column("formula", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
)

metric_changes = Table(
    "metric_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("metric_code", String(64), nullable=False, index=True),
    Column("changed_at", String(32), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old", Text, nullable=True),
    Column("new", Text, nullable=True),
)

sources = Table(
    "sources", metadata,
    Column("id", String(128), primary_key=True),
    Column("department_code", String(32), ForeignKey("departments.code"), nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("location", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("spec", Text, nullable=False),  # JSON of the manifest entry
)

loads = Table(
    "loads", metadata,
    Column("id", Integer, primary_key=True),  # the vintage number
    Column("source_id", String(128), ForeignKey("sources.id"), nullable=False, index=True),
    Column("file_sha256", String(64), nullable=False),
    Column("spec_sha256", String(64), nullable=False, default=""),  # how the manifest maps the file
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32), nullable=True),
    Column("status", String(16), nullable=False),  # 'ok'
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_loaded", Integer, nullable=False, default=0),
    Column("rows_quarantined", Integer, nullable=False, default=0),
    Column("values_new", Integer, nullable=False, default=0),
    Column("values_revised", Integer, nullable=False, default=0),
    Column("values_withdrawn", Integer, nullable=False, default=0),
    Column("values_unchanged", Integer, nullable=False, default=0),
    Column("period_min", String(16), nullable=True),
    Column("period_max", String(16), nullable=True),
    Column("grade", String(1), nullable=False, default=""),
    Column("grade_reasons", Text, nullable=False, default="[]"),  # JSON list of strings
    Column("report", Text, nullable=False, default="{}"),  # JSON summary of validation problems
)

load_metrics = Table(
    "load_metrics", metadata,
    Column("load_id", Integer, ForeignKey("loads.id"), primary_key=True),
    Column("metric_id", Integer, ForeignKey("metrics.id"), primary_key=True),
)

breakdowns = Table(
    "breakdowns", metadata,
    Column("id", Integer, primary_key=True),  # 0 = the total over breakdowns
    Column("key", Text, nullable=False, unique=True),  # 'dim=value;dim2=value2', '' for the total
)

observations = Table(
    "observations", metadata,
    Column("metric_id", Integer, ForeignKey("metrics.id"), primary_key=True),
    Column("area_id", Integer, ForeignKey("areas.id"), primary_key=True),
    Column("breakdown_id", Integer, ForeignKey("breakdowns.id"), primary_key=True),
    Column("freq", Integer, primary_key=True),  # FREQ_CODES
    Column("period", Integer, primary_key=True),  # days since 1970-01-01 of the period's first day
    Column("load_id", Integer, ForeignKey("loads.id"), primary_key=True),
    Column("value", Float, nullable=True),
    Column("status", String(16), nullable=False, default=""),
    Column("derived", Integer, nullable=False, default=LEAF),
    sqlite_with_rowid=False,
)

#: SQLite-only conveniences created with schema version 1
#: the view that decodes observations' integer keys for people reading the store directly (sqlite3 or
#: psql), in each dialect's own SQL; created at schema version 1 (SQLite) and 8 (both, where missing)
_FREQ_CASE = ("CASE o.freq WHEN 1 THEN 'D' WHEN 2 THEN 'W' WHEN 3 THEN 'M' WHEN 4 THEN 'Q' "
              "WHEN 5 THEN 'FQ' WHEN 6 THEN 'Y' WHEN 7 THEN 'FY' END")
_READABLE = """
        {create} observations_readable AS
        SELECT m.code AS metric, a.code AS area, b.key AS breakdown, {freq} AS freq,
               {period_start} AS period_start,
               o.load_id AS vintage, o.value, o.status, o.derived
        FROM observations o JOIN metrics m ON m.id = o.metric_id JOIN areas a ON a.id = o.area_id
        JOIN breakdowns b ON b.id = o.breakdown_id"""
READABLE_VIEWS = {
    "sqlite": {"observations_readable": _READABLE.format(
        create="CREATE VIEW IF NOT EXISTS", freq=_FREQ_CASE, period_start="date(o.period * 86400, 'unixepoch')")},
    "postgresql": {"observations_readable": _READABLE.format(
        create="CREATE OR REPLACE VIEW", freq=_FREQ_CASE, period_start="DATE '1970-01-01' + o.period")},
}

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True),
    Column("load_id", Integer, ForeignKey("loads.id"), nullable=False, index=True),
    Column("row_number", Integer, nullable=False),
    Column("sheet", Text, nullable=True),
    Column("raw", Text, nullable=False),  # JSON object column -> cell text
    Column("reasons", Text, nullable=False),  # JSON list of messages
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("period", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("metrics", Text, nullable=False, default="[]"),  # JSON list of metric codes
    UniqueConstraint("period", "title", name="uq_events_period_title"),
)

model_specs = Table(
    "model_specs", metadata,
    Column("metric_code", String(64), ForeignKey("metrics.code"), primary_key=True),
    Column("drivers", Text, nullable=False),  # JSON list
    Column("kind", String(32), nullable=False),
    Column("pseudo_drivers", Text, nullable=False, default="[]"),
    Column("updated_at", String(32), nullable=False),
)

model_versions = Table(
    "model_versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("metric_code", String(64), ForeignKey("metrics.code"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("spec", Text, nullable=False),  # JSON: drivers, pseudo-drivers, hyperparameters
    Column("scores", Text, nullable=False),  # JSON: time-aware CV scores
    Column("data_vintage", Integer, nullable=False),
    Column("training_hash", String(64), nullable=False),
    Column("libraries", Text, nullable=False),  # JSON: versions of sklearn, numpy, skops
    Column("artefact", LargeBinary, nullable=False),  # skops.io bytes, never pickle
    Column("created_at", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    UniqueConstraint("metric_code", "version", name="uq_model_versions_metric_version"),
)

explanations = Table(
    "explanations", metadata,
    Column("id", Integer, primary_key=True),
    Column("data_vintage", Integer, nullable=False),
    Column("model_version", Integer, nullable=False),  # 0 = no driver model
    Column("metric_code", String(64), nullable=False),
    Column("area_code", String(64), nullable=False),  # WHOLE_AREA for the whole
    Column("by", String(64), nullable=False, default=""),  # breakdown dimension, '' = areas
    Column("period_from", String(16), nullable=False),
    Column("period_to", String(16), nullable=False),
    Column("payload", Text, nullable=False),  # JSON of the contract's explain object
    Column("created_at", String(32), nullable=False),
    UniqueConstraint(
        "metric_code", "area_code", "by", "period_from", "period_to", "data_vintage", "model_version",
        name="uq_explanations_key",
    ),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),  # viewer | analyst | admin
    Column("department_code", String(32), ForeignKey("departments.code"), nullable=True),
    Column("created_at", String(32), nullable=False),
)

app_settings = Table(
    "app_settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# ------------------------------------------------ schema version 3: trust and concurrency
#: server-side sessions: the cookie holds a random id, the store its SHA-256, so signing out or
#: changing a password revokes every copy of the cookie (times are epoch seconds)
sessions = Table(
    "sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(128), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("address", String(64), nullable=False, default=""),
)

#: failed sign-ins, for rate limiting per user name and per address
sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),
)

#: who started each background job: a job handle (Dash's signed cacheKey / job) is answered only
#: for the user who started it
job_owners = Table(
    "job_owners", metadata,
    Column("handle", String(256), primary_key=True),
    Column("username", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)

#: one load per source at a time: a row is a lease held by one process
load_locks = Table(
    "load_locks", metadata,
    Column("source_id", String(128), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("acquired_at", Float, nullable=False),
)

#: per-metric metadata written at load time (frequencies and period range of its live values),
#: so page requests never scan ``observations`` to find a metric's frequency. One row per metric
#: and frequency that has live values (latest vintage of a key, not withdrawn), kept by each load
#: inside its transaction from the rows it writes (``loaders.pipeline``) and backfilled by the
#: schema-3 migration (``loaders.store.backfill_metric_series``).
metric_series = Table(
    "metric_series", metadata,
    Column("metric_id", Integer, ForeignKey("metrics.id"), primary_key=True),
    Column("freq", Integer, primary_key=True),  # FREQ_CODES
    Column("n_values", Integer, nullable=False, default=0),  # live keys: every area, breakdown, derived kind
    Column("n_periods", Integer, nullable=False, default=0),  # distinct periods among them
    Column("period_min", Integer, nullable=True),  # days since 1970-01-01, as observations.period
    Column("period_max", Integer, nullable=True),
    Column("load_id", Integer, nullable=False, default=0),  # the latest load that wrote a row of it
)

#: departments a metric is shared with ('*' = every department): a driver is visible to a
#: department-scoped user only when it belongs to the user's department or is shared with it
metric_shares = Table(
    "metric_shares", metadata,
    Column("metric_code", String(64), ForeignKey("metrics.code"), primary_key=True),
    Column("department_code", String(32), primary_key=True),
)

# ------------------------------------------------ schema version 4: one cache policy
#: each metric's state (``loaders.freshness``): the data vintage and active model version every cache
#: of its results is keyed by, and the store-wide generation at which it last changed. Written in the
#: transaction of whatever changed it (a load, a manifest sync, a model fit or activation).
metric_states = Table(
    "metric_states", metadata,
    Column("metric_code", String(64), ForeignKey("metrics.code"), primary_key=True),
    Column("data_vintage", Integer, nullable=False, default=0),
    Column("model_version", Integer, nullable=False, default=0),  # 0 = no active driver model
    Column("generation", Integer, nullable=False, default=0),
)

# ------------------------------------------------ schema version 5: areas across departments
#: which departments an area belongs to: the departments of the manifest that declared it, or of the
#: source that first named it (an undeclared label such as "Birmingham"). A label another department
#: already uses is kept apart, and a hierarchy another department declared is never changed silently
#: (``loaders.areas``).
area_owners = Table(
    "area_owners", metadata,
    Column("area_id", Integer, ForeignKey("areas.id"), primary_key=True),
    Column("department_code", String(32), primary_key=True),
)

# ------------------------------------------------ schema version 6: series breaks
#: periods where a metric's series breaks (an ``[[event]]`` with ``break = true``): the verdict on a
#: movement never compares across one (explain.verdict). The manifest that declares the metric owns them.
series_breaks = Table(
    "series_breaks", metadata,
    Column("metric_code", String(64), ForeignKey("metrics.code"), primary_key=True),
    Column("period", String(32), primary_key=True),
)

# ------------------------------------------------ schema version 7: events as candidate causes
#: the areas an ``[[event]]`` touches (none: every area): an explanation of a movement spanning the
#: event gives the share of the change in these areas (explain.events)
event_areas = Table(
    "event_areas", metadata,
    Column("period", String(16), primary_key=True),
    Column("title", Text, primary_key=True),
    Column("area_code", String(64), primary_key=True),
)

#: how a money metric is shown in real terms and per head (the manifest's ``deflator``, ``prices_of``
#: and ``per_head``): the deflator and population are metrics loaded like any other (explain.measures)
metric_measures = Table(
    "metric_measures", metadata,
    Column("metric_code", String(64), ForeignKey("metrics.code"), primary_key=True),
    Column("deflator", String(64), nullable=False, default=""),
    Column("prices_of", String(32), nullable=False, default=""),
    Column("per_head", String(64), nullable=False, default=""),
)

# ------------------------------------------------ schema version 8: background jobs any process can see
#: each background job of the app, from queued to done or failed: the worker running it writes a
#: heartbeat, so a web process polling for its result can tell a job still running from one whose
#: worker was lost (killed, out of memory, machine gone) and say so (loaders.jobs)
job_runs = Table(
    "job_runs", metadata,
    Column("token", String(64), primary_key=True),
    Column("job", String(256), nullable=False, default="", index=True),  # the manager's id (Celery task, pid)
    Column("username", String(128), nullable=False, default=""),
    Column("purpose", String(32), nullable=False, default=""),  # explain, fit, activate
    Column("subject", String(64), nullable=False, default=""),  # the metric it is for
    Column("state", String(16), nullable=False),  # queued, running, done, failed
    Column("queued_at", Float, nullable=False),
    Column("started_at", Float),
    Column("beat_at", Float),
    Column("finished_at", Float),
    Column("worker", String(256), nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
)

# ------------------------------------------------ schema version 9: driver panels any process can read
#: each modelled metric's driver panel (every leaf area and period of the metric with each driver's
#: value), as the last precompute built it: a fresh process explains from it instead of reading every
#: driver's history again. Read only while its data vintage and model version are the metric's current
#: ones (loaders.panel_store), like the precomputed explanations.
driver_panels = Table(
    "driver_panels", metadata,
    Column("metric_code", String(64), primary_key=True),
    Column("data_vintage", Integer, nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # numpy .npz arrays (explain.panel_cache), never pickle
    Column("created_at", String(32), nullable=False),
)

#: tables created by each schema version, in order; forward migrations only add
SCHEMA_STEPS: dict[int, tuple[Table, ...]] = {
    1: (schema_version, departments, areas, metrics, metric_changes, sources, loads, load_metrics,
        breakdowns, observations, quarantine, events, model_specs, model_versions),
    2: (explanations, users, app_settings),
    3: (sessions, sign_in_failures, job_owners, load_locks, metric_series, metric_shares),
    4: (metric_states,),
    5: (area_owners,),
    6: (series_breaks,),
    7: (event_areas, metric_measures),
    8: (job_runs,),
    9: (driver_panels,),
}
CURRENT_VERSION = max(SCHEMA_STEPS)
