"""Store URLs for tests that run on SQLite and on PostgreSQL.

``db_url`` is parametrised: a SQLite file in the test's folder, and a fresh schema on the
PostgreSQL server named by $WHYTREND_TEST_PG_URL (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), reached through ``options=-csearch_path``
in the URL and dropped after the test, because that database is shared. The PostgreSQL case is
skipped, with a message naming WHYTREND_TEST_PG_URL, when psycopg is missing or no server answers.

The ``db_url`` fixture is offered to every test module by ``tests/conftest.py``.
"""
from __future__ import annotations

import logging
import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest

log = logging.getLogger(__name__)

PG_ENV = "WHYTREND_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A URL whose connections use a new, empty schema (dropped on exit); skips the test if no server."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    base = make_url(os.environ.get(PG_ENV) or DEFAULT_PG_URL)
    shown = base.render_as_string(hide_password=True)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _absent(f"psycopg is not installed (pip install 'psycopg[binary]>=3.1'), so the PostgreSQL case "
                f"cannot run against {PG_ENV}={shown}")
    admin = create_engine(base, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: no server to test against
        admin.dispose()
        _absent(f"no PostgreSQL server answers at {PG_ENV}={shown} ({type(exc).__name__}); "
                f"set {PG_ENV} to a server's SQLAlchemy URL to run the PostgreSQL case")
    schema = f"whytrend_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        try:
            with admin.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '20s'"))
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        except Exception:  # noqa: BLE001 - report, but do not hide the test's own result
            log.exception("could not drop test schema %s", schema)
        admin.dispose()


#: set (as .ci/run does) where the services must be there: a case that cannot reach one fails, not skips
REQUIRE_ENV = "WHYTREND_REQUIRE_SERVICES"


def _absent(message: str) -> None:
    """Skip the test for a missing service, or fail it where the services are required."""
    if os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0"):
        pytest.fail(f"{message} (and {REQUIRE_ENV} is set: this machine must have it)")
    pytest.skip(message)


#: the PostgreSQL case of a parametrised store, marked so a run can count what it ran
POSTGRES_PARAM = pytest.param("postgresql", marks=pytest.mark.postgres)


@pytest.fixture(params=["sqlite", POSTGRES_PARAM])
def db_url(request, tmp_path) -> Iterator[str]:
    """A URL for an empty store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with fresh_pg_schema() as url:
        yield url


def store_fingerprint(store_or_url) -> str:
    """A hash of every row of every whytrend table in a store (a SQLite file or a PostgreSQL schema):
    equal before and after means nothing was written."""
    import hashlib

    from sqlalchemy import inspect, select

    from loaders import Store
    from loaders import schema as s

    store = store_or_url if isinstance(store_or_url, Store) else Store(store_or_url, migrate=False)
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in s.metadata.sorted_tables:
            if table.name in present:
                order = list(table.primary_key.columns) or list(table.columns)
                digest.update(f"{table.name}:{conn.execute(select(table).order_by(*order)).all()!r}".encode())
    if store is not store_or_url:
        store.engine.dispose()
    return digest.hexdigest()


def query(url: str, sql: str, **params) -> list[tuple]:
    """Rows of one SQL query against the store at ``url`` (tests reading what a command wrote)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


#: a small DWP hierarchy (England, two regions, three areas) and two metrics, shared by the
#: concurrency and metadata tests; each appends its own sources
SMALL_HIERARCHY = """
[[department]]
code = "DWP"
name = "Department for Work and Pensions"

[[area]]
code = "E"
name = "England"
level = "country"

[[area]]
code = "R1"
name = "North"
level = "region"
parent = "E"

[[area]]
code = "R2"
name = "West"
level = "region"
parent = "E"

[[area]]
code = "A1"
name = "Area one"
level = "la"
parent = "R1"

[[area]]
code = "A2"
name = "Area two"
level = "la"
parent = "R1"

[[area]]
code = "A3"
name = "Area three"
level = "la"
parent = "R2"

[[metric]]
code = "caseload"
name = "Caseload"
department = "DWP"
unit = "households"

[[metric]]
code = "award"
name = "Average award"
department = "DWP"
unit = "£ per month"
aggregation = "mean"

"""

#: the monthly source of caseload alone (uc.csv: month, area, Caseload)
UC_CASELOAD_SOURCE = """
[[source]]
id = "uc"
department = "DWP"
path = "uc.csv"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload" }
"""

#: spend = caseload * award, a visits metric, and the monthly source of caseload and award (uc.csv:
#: month, area, Caseload, Award), shared by the metadata and freshness tests
SPEND_VISITS_AND_UC = """
[[metric]]
code = "spend"
name = "Spend"
department = "DWP"
unit = "£"
aggregation = "formula"
formula = "caseload * award"

[[metric]]
code = "visits"
name = "Visits"
department = "DWP"
unit = "visits"

[[source]]
id = "uc"
department = "DWP"
path = "uc.csv"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload", "Award" = "award" }
"""


REDIS_ENV = "WHYTREND_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_test_url() -> str:
    """The Redis that multi-process tests send jobs through ($WHYTREND_TEST_REDIS_URL, default
    redis://127.0.0.1:6379/0); skips the test, naming the variable, when Celery is missing or no
    server answers. Each store has its own queue (dashapp.job_queue), so no cleaning is needed."""
    url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL
    try:
        import celery  # noqa: F401
        import redis
    except ImportError:
        _absent(f"Celery or redis-py is not installed (pip install 'whytrend[workers]'), so the Redis cases "
                f"cannot run against {REDIS_ENV}={url}")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: no server to test against
        _absent(f"no Redis server answers at {REDIS_ENV}={url} ({type(exc).__name__}); set {REDIS_ENV} to a "
                "server's URL to run the Redis cases")
    return url
