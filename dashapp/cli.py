"""The ``whytrend`` command: a thin shell that parses options, calls the library, and
turns domain errors into one-paragraph messages (in one place: :class:`_Cli`).

Heavy imports (pandas, scikit-learn, dash) happen inside commands so ``whytrend --help``
and ``whytrend sources`` start quickly.
"""
from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

import click

from loaders.errors import WhytrendError
from loaders.vocabulary import MODEL_KINDS, ROLES

log = logging.getLogger("whytrend")

DB_HELP = "SQLAlchemy URL or SQLite file path (default: $WHYTREND_DB, else ./whytrend.db)."


class _Cli(click.Group):
    """The one place errors become messages: every WhytrendError is ``Error: <message>`` on stderr
    with exit status 1; anything else (a bug) is one paragraph pointing at a log file that holds the
    traceback, with exit status 2 (``whytrend --debug …`` prints the traceback instead)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except WhytrendError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last-resort guard: no traceback for users
            if (ctx.obj or {}).get("debug"):
                traceback.print_exc()
            else:
                path = _crash_log(exc)
                click.echo(f"Error: whytrend stopped on an unexpected problem ({type(exc).__name__}: "
                           f"{str(exc)[:300]}). This is a bug, not something in your data or command; what was "
                           f"loaded before it stays as it was. The details are in {path}: please report it with "
                           "that file. Run the command again with `whytrend --debug ...` to see them here.", err=True)
            ctx.exit(2)


def _crash_log(exc: BaseException) -> Path:
    """Write the traceback to a private log folder ($WHYTREND_LOG_DIR, else ~/.cache/whytrend/logs)."""
    import datetime as dt
    import os
    import tempfile

    folder = Path(os.environ.get("WHYTREND_LOG_DIR") or Path.home() / ".cache" / "whytrend" / "logs")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"whytrend-error-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    path.write_text(f"whytrend {' '.join(sys.argv[1:])}\n\n{text}", encoding="utf-8")
    log.debug("wrote %s", path)
    return path


def _store(db: str | None):
    from loaders import Store

    return Store(db)


@click.group(cls=_Cli)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.option("--debug", "show_tracebacks", is_flag=True,
              help="On an unexpected error, print the traceback instead of writing it to a log file.")
@click.version_option(package_name="whytrend")
@click.pass_context
def main(ctx: click.Context, verbose: int, show_tracebacks: bool) -> None:
    """whytrend: why did this departmental metric move?"""
    ctx.obj = {"debug": show_tracebacks}
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", default=None, help=DB_HELP)
@click.option("--source", "only", multiple=True, help="Load only this source id (repeatable).")
@click.option("--no-precompute", is_flag=True, help="Skip refreshing cached explanations after the load.")
@click.option("--allow-withdrawals", is_flag=True,
              help="Let a file withdraw more than 5% of its source's current values (they are in periods the file "
                   "covers but the file no longer has them); without it such a load fails and writes nothing.")
@click.option("--allow-dir", "allow_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="A folder outside the manifest's own that its source paths may read from (repeatable; "
                   "also $WHYTREND_ALLOWED_DIRS, separated by the system path separator).")
def load(manifest: Path, db: str | None, only: tuple[str, ...], no_precompute: bool, allow_withdrawals: bool,
         allow_dirs: tuple[Path, ...]) -> None:
    """Load every source of MANIFEST, one vintage per source.

    Source paths must stay inside the manifest's folder unless a folder is allowed with --allow-dir;
    file sizes, rows, columns, downloads and timeouts are limited by WHYTREND_MAX_* settings (README).
    """
    from explain import load_and_refresh

    result = load_and_refresh(_store(db), manifest, only=only or None, allowed_dirs=allow_dirs,
                              on_source=_print_outcome, refresh_explanations=not no_precompute, workers=2,
                              allow_withdrawals=allow_withdrawals)
    if result.refreshed is not None:
        n = len(result.affected)
        click.echo(f"explanations refreshed for the {n} metric{'' if n == 1 else 's'} the load changed: "
                   f"{result.refreshed}")
    if result.failed:
        n = len(result.outcomes)
        raise click.ClickException(
            f"{len(result.failed)} of {n} source{'s' if n != 1 else ''} failed and wrote nothing: "
            + ", ".join(o.source_id for o in result.failed)
            + ". Earlier vintages are untouched; fix the problems above and load again.")


def _print_outcome(outcome) -> None:
    if outcome.status == "failed":
        click.echo(f"FAILED  {outcome.message}", err=True)
        if outcome.report is not None:
            for problem in outcome.report.problems[:20]:
                click.echo(f"        - {problem.message}", err=True)
            for hint in outcome.report.hints.values():   # said once, not in every row
                click.echo(f"        hint: {hint}", err=True)
        return
    if outcome.status == "unchanged":
        click.echo(f"same    {outcome.message}")
        return
    click.echo(
        f"loaded  {outcome.source_id}: vintage {outcome.load_id}; {outcome.rows_read:,} rows read, "
        f"{outcome.values_loaded:,} values loaded ({outcome.values_new:,} new, {outcome.values_revised:,} revised, "
        f"{outcome.values_withdrawn:,} withdrawn), {outcome.rows_quarantined:,} rows quarantined; "
        f"quality grade {outcome.grade}")
    for reason in outcome.grade_reasons:
        click.echo(f"        {reason}")
    problems = outcome.report.problems if outcome.report is not None else ()
    for note in [p for p in problems if p.severity == "note"]:
        click.echo(f"        note: {note.message}")
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in warnings[:10]:
        click.echo(f"        warning: {problem.message}")
    if len(warnings) > 10:
        click.echo(f"        … and {len(warnings) - 10} more warnings (whytrend loads {outcome.source_id})")
    for hint in (outcome.report.hints.values() if outcome.report is not None else ()):
        click.echo(f"        hint: {hint}")


@main.command()
@click.argument("metric")
@click.option("--from", "period_from", default=None, help="Start period, e.g. 2024-01, 2023-24, 2024-Q1.")
@click.option("--to", "period_to", default=None, help="End period.")
@click.option("--period", default=None,
              help="One period for both points: compare its forecast with its outturn, or its first-published "
                   "figure with the latest (with --from-series/--to-series or --from-vintage/--to-vintage).")
@click.option("--from-series", default="outturn", show_default=True,
              help="Series of the first point: outturn, or a plan or forecast the department sent (forecast, plan …).")
@click.option("--to-series", default="outturn", show_default=True, help="Series of the second point.")
@click.option("--from-vintage", default="latest", show_default=True,
              help="Vintage of the first point: latest, first (as first published) or a load number.")
@click.option("--to-vintage", default="latest", show_default=True, help="Vintage of the second point.")
@click.option("--measure", type=click.Choice(["cash", "real", "per_head"]), default="cash", show_default=True,
              help="Cash, real terms (the metric's deflator) or per head (its population).")
@click.option("--prices-of", default=None, help="Real terms in the prices of this year (default: the manifest's).")
@click.option("--area", default=None, help="Area code (default: the whole).")
@click.option("--by", default=None, help="Split segments by this breakdown dimension instead of child areas.")
@click.option("--cross", is_flag=True,
              help="Also search areas × breakdown values for the few segments that explain most of the change "
                   "(not additive where they overlap).")
@click.option("--as-at", "as_at", default=None, type=int, help="Use the data as at this vintage.")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the contract's JSON object.")
def explain(metric: str, period_from: str | None, period_to: str | None, period: str | None, from_series: str,
            to_series: str, from_vintage: str, to_vintage: str, measure: str, prices_of: str | None,
            area: str | None, by: str | None, cross: bool, as_at: int | None, db: str | None, as_json: bool) -> None:
    """Explain the movement of METRIC between two periods, or the gap between two points (a period's
    forecast and outturn, its first-published and latest figures).

    \b
    whytrend explain uc_caseload --from 2026-08 --to 2026-09
    whytrend explain uc_spend --period 2026-09 --from-series forecast --to-series outturn
    whytrend explain uc_caseload --period 2026-06 --from-vintage first --to-vintage latest
    whytrend explain uc_spend --from 2025-09 --to 2026-09 --measure real --prices-of 2025-26
    """
    from explain import Point, explain_change, explain_points

    first, second = period_from or period, period_to or period
    if not first or not second:
        raise click.UsageError("Give --from and --to (two periods), or --period (one period, two series or vintages).")
    if period and (period_from or period_to):
        raise click.UsageError("Give either --period or --from/--to, not both.")
    compare = (from_series, to_series, from_vintage, to_vintage) != ("outturn", "outturn", "latest", "latest")
    if compare and as_at is not None:
        raise click.UsageError("--as-at applies to a movement; for points use --from-vintage/--to-vintage.")
    if compare:
        result = explain_points(_store(db), metric, Point(first, from_series, from_vintage),
                                Point(second, to_series, to_vintage), area=area, by=by, measure=measure,
                                prices_of=prices_of)
    else:
        result = explain_change(_store(db), metric, first, second, area=area, by=by, as_at=as_at,
                                measure=measure, prices_of=prices_of)
    found = None
    if cross:
        from explain import cross_segments

        if compare or measure != "cash" or as_at is not None:
            raise click.UsageError("--cross searches a movement between two periods of the latest figures, in cash.")
        found = cross_segments(_store(db), metric, first, second, area=area)
    if as_json:
        click.echo(json.dumps({**result.to_dict(), **({"cross_segments": found.to_dict()} if found else {})},
                              indent=2))
        return
    click.echo(result.narrative)
    from explain.numbers import signed
    from explain.verdict import Verdict

    click.echo(f"\nVerdict: {Verdict.from_dict(result.significance).headline}")
    drivers = [(d.driver, d.contribution) for d in result.drivers]
    if drivers:  # the part the drivers leave unexplained belongs with them, not with the segments
        drivers.append(("unexplained", result.unexplained))
    if result.measure_parts:
        click.echo("\nCash change split:")
        for part in result.measure_parts:
            click.echo(f"  {part.component:<40} {signed(part.contribution, result.cash_unit or result.unit)}")
    for title, rows in (("Drivers", drivers),
                        ("Formula components", [(c.component, c.contribution) for c in result.components]),
                        ("Segments", [(sg.name, sg.contribution) for sg in result.segments[:10]])):
        if rows:
            click.echo(f"\n{title}:")
            for name, value in rows:
                click.echo(f"  {name:<40} {signed(value, result.unit)}")
    if found is not None:
        _echo_cross(found, result.unit)
    if result.events:
        click.echo("\nKnown events in this span (candidate causes):")
        for ev in result.events:
            where = f" — {', '.join(ev.area_names)}: {signed(ev.contribution, result.unit)}" \
                if ev.contribution is not None else ""
            click.echo(f"  {ev.period}  {ev.title}{where}")


def _echo_cross(found, unit: str) -> None:
    """The cross-dimension search's segments, then what stopped or started reporting."""
    from explain.cross_search import presence_words
    from explain.numbers import signed
    from explain.wording import dimension_words

    dims = ", ".join(["areas", *(dimension_words(d) for d in found.dimensions)])
    click.echo(f"\nSegments across {dims} (not additive where they overlap; {found.n_cells} cells searched):")
    for sg in found.segments:
        note = f"  [{presence_words(sg.presence)}]" if sg.presence != "both" else ""
        overlap = f"  overlaps {', '.join(sg.overlaps)}" if sg.overlaps else ""
        click.echo(f"  {sg.name:<40} {signed(sg.contribution, unit):>16} ({sg.share:.0%}){note}{overlap}")
    if found.reporting_changes:
        click.echo("Reported in one period only:")
        for sg in found.reporting_changes[:10]:
            click.echo(f"  {sg.name:<40} {signed(sg.contribution, unit):>16}  {presence_words(sg.presence)}")


@main.command()
@click.argument("metric")
@click.option("--drivers", default=None, help="Comma-separated driver metric codes (default: the manifest's [[model]]).")
@click.option("--kind", type=click.Choice(MODEL_KINDS), default=None)
@click.option("--pseudo-drivers", default=None, help="Comma-separated: trend, seasonality.")
@click.option("--tune", is_flag=True, help="Search hyperparameters with the same time-aware splits.")
@click.option("--force", is_flag=True,
              help="Make the new version active even when it is not better than the naive forecast (each area's "
                   "last value carried forward) on both out-of-sample R² and mean absolute error.")
@click.option("--db", default=None, help=DB_HELP)
def fit(metric: str, drivers: str | None, kind: str | None, pseudo_drivers: str | None, tune: bool, force: bool,
        db: str | None) -> None:
    """Fit (and optionally tune) the driver model of METRIC, save it as a new version and make it active.

    A version that is not better than the naive forecast on both out-of-sample R² and mean absolute
    error is saved but not made active (the previous version stays active) unless --force.
    """
    from explain import ActivationRefused, fit_and_refresh

    store = _store(db)
    try:
        change = fit_and_refresh(store, metric, drivers=_split(drivers), kind=kind,
                                 pseudo_drivers=_split(pseudo_drivers), tune=tune, force=force,
                                 progress=lambda stage: log.info("%s (%d%%)", stage.label, stage.percent))
    except ActivationRefused as refused:
        from explain import get_version

        saved = get_version(store, metric, refused.version)
        if saved is not None:
            _print_version(saved)
        raise click.ClickException(f"{refused} {_force_hint(metric, refused.version)}") from None
    _print_version(change.version)
    _print_forced(change.quality, force)
    click.echo(f"  explanations refreshed: {change.refreshed}")


@main.command()
@click.argument("metric")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--force", is_flag=True,
              help="Make it active even when it is not better than the naive forecast (each area's last value "
                   "carried forward) on both out-of-sample R² and mean absolute error.")
@click.option("--db", default=None, help=DB_HELP)
def activate(metric: str, version: int, force: bool, db: str | None) -> None:
    """Make VERSION of METRIC's driver model the active one and refresh its explanations.

    Refused for a version that is not better than the naive forecast unless --force.
    """
    from explain import ActivationRefused, activate_and_refresh

    try:
        change = activate_and_refresh(_store(db), metric, version, force=force)
    except ActivationRefused as refused:
        raise click.ClickException(f"{refused} {_force_hint(metric, version)}") from None
    quality = change.quality
    click.echo(f"{metric}: model version {version} ({change.version.kind.replace('_', ' ')}) is now active")
    click.echo(f"  {quality.sentence}")
    _print_forced(quality, force)
    click.echo(f"  explanations refreshed: {change.refreshed}")


def _print_version(version) -> None:
    """A fitted version in three lines: drivers; out-of-sample scores against the naive forecast; provenance."""
    from explain import judge

    scores = version.scores
    pseudo = f" + {', '.join(version.pseudo_drivers)}" if version.pseudo_drivers else ""
    click.echo(f"{version.metric}: model version {version.version} ({version.kind.replace('_', ' ')}) on drivers "
               f"{', '.join(version.drivers) or 'none'}{pseudo}")
    click.echo(f"  {judge(scores).sentence}")
    click.echo(f"  (time-aware CV over {scores.get('n_splits')} expanding-window splits; the naive forecast carries "
               "each area's last value forward)")
    click.echo(f"  data vintage {version.data_vintage}, training data sha256 {version.training_hash[:12]}")


def _print_forced(quality, force: bool) -> None:
    if not quality.better_than_naive:  # active although not better: forced, or it was active already
        how = "with --force" if force else "(it was the active version already)"
        click.echo(f"  active {how} although it is {quality.verdict}: treat its driver splits with caution")


def _force_hint(metric: str, version: int) -> str:
    return f"To make it active anyway: `whytrend activate {metric} {version} --force`."


@main.group()
def users() -> None:
    """Manage who can sign in to the app (roles: viewer, analyst, admin: each can do what the ones before it can)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--department", default=None, help="Department code; the user then sees only its metrics.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (prompted when omitted).")
@click.option("--replace", is_flag=True,
              help="Replace an existing user's password, role and department (and sign out its sessions).")
@click.option("--db", default=None, help=DB_HELP)
def users_add(username: str, role: str, department: str | None, password: str, replace: bool, db: str | None) -> None:
    """Add a user."""
    from loaders.accounts import add_user

    user = add_user(_store(db), username, password, role=role, department=department, replace=replace)
    click.echo(f"added {user.username} ({user.role}{', ' + user.department if user.department else ', all departments'})")


@users.command("remove")
@click.argument("username")
@click.option("--db", default=None, help=DB_HELP)
def users_remove(username: str, db: str | None) -> None:
    """Remove a user (and sign out its sessions)."""
    from loaders.accounts import remove_user

    remove_user(_store(db), username)
    click.echo(f"removed {username}")


@users.command("signout")
@click.argument("username")
@click.option("--db", default=None, help=DB_HELP)
def users_signout(username: str, db: str | None) -> None:
    """Sign a user out everywhere: every copy of its session cookies stops working."""
    from loaders.accounts import get_user
    from loaders.sessions import revoke_sessions

    store = _store(db)
    if get_user(store, username) is None:
        raise WhytrendError(f"No user called '{username}'.")
    ended = revoke_sessions(store, username)
    click.echo(f"signed out {username} ({ended} session{'' if ended == 1 else 's'} ended)")


@users.command("list")
@click.option("--db", default=None, help=DB_HELP)
def users_list(db: str | None) -> None:
    """List users with their roles and departments."""
    from loaders.accounts import list_users

    for user in list_users(_store(db)):
        click.echo(f"{user.username:<24} {user.role:<8} {user.department or 'all departments'}")


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@main.command()
@click.option("--db", default=None, help=DB_HELP)
def sources(db: str | None) -> None:
    """List sources with their latest vintage and quality grade."""
    frame = _store(db).sources_frame()
    if frame.empty:
        click.echo("No sources loaded yet. Run `whytrend load MANIFEST.toml` or `whytrend demo`.")
        return
    for row in frame.itertuples():
        vintage = f"vintage {int(row.vintage)}" if row.vintage == row.vintage and row.vintage is not None else "never loaded"
        click.echo(f"{row.source:<32} {row.department:<6} {vintage:<12} grade {row.grade or '-'}  "
                   f"{int(row.rows_loaded or 0):>10,} values  {row.period_min or ''}..{row.period_max or ''}  {row.title}")


@main.command()
@click.argument("source")
@click.option("--db", default=None, help=DB_HELP)
def loads(source: str, db: str | None) -> None:
    """Vintage history of SOURCE: row counts, revisions, grades and their reasons."""
    store = _store(db)
    frame = store.loads_frame(source)
    if frame.empty:
        known = store.sources_frame()
        names = ", ".join(known["source"]) if not known.empty else "none loaded yet"
        raise click.ClickException(f"No loads of source '{source}'. Sources: {names}.")
    for row in frame.itertuples():
        click.echo(
            f"vintage {row.id:>4}  {row.finished_at or row.started_at}  grade {row.grade}  "
            f"{row.rows_read:,} rows read, {row.rows_loaded:,} values, {row.rows_quarantined:,} quarantined, "
            f"{row.values_new:,} new, {row.values_revised:,} revised, {row.values_withdrawn:,} withdrawn  "
            f"sha256 {row.file_sha256[:12]}")
        for reason in json.loads(row.grade_reasons or "[]"):
            click.echo(f"              {reason}")
        problems = json.loads(row.report or "{}").get("problems", [])
        said = [p for p in problems if p.get("severity") in ("note", "warning")]
        for problem in said[:10]:
            click.echo(f"              {problem['severity']}: {problem['message']}")
        if len(said) > 10:
            click.echo(f"              … and {len(said) - 10} more")


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--dir", "directory", default="whytrend-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where to write the demo files.")
@click.option("--no-serve", is_flag=True, help="Load the demo and print a summary without starting the app.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
def demo(db: str | None, directory: Path, no_serve: bool, host: str, port: int) -> None:
    """Write the bundled demo data, load it through the real loaders (two vintages), and serve the app."""
    from explain import set_up_demo

    store = _store(db)
    demo_set_up = set_up_demo(store, directory, on_source=_print_outcome)
    click.echo(f"explanations refreshed: {demo_set_up.refreshed}")
    for line in demo_set_up.lines:
        click.echo(line)
    _print_demo_users(demo_set_up.users)
    if not no_serve:
        _serve(store, host, port, debug=False, workers=2)


def _print_demo_users(users) -> None:
    click.echo("\nDemo sign-ins (demo data only; never use these passwords for real data):")
    for user in users:
        scope = f"{user.department} metrics only" if user.department else "all departments"
        note = "" if user.created else "  (already existed; password unchanged)"
        click.echo(f"  {user.username:<9} password {user.password:<18} {user.role:<8} {scope}{note}")


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes (one thread each).")
@click.option("--debug", is_flag=True, help="Dash development server with debugging (never in production).")
def serve(db: str | None, host: str, port: int, workers: int, debug: bool) -> None:
    """Serve the Dash app (gunicorn; --debug for the development server)."""
    store = _store(db)
    if not store.latest_load_id():
        click.echo("The store has no data yet: load a manifest with `whytrend load` or run `whytrend demo`.", err=True)
    _serve(store, host, port, debug=debug, workers=workers)


def _serve(store, host: str, port: int, *, debug: bool, workers: int) -> None:
    from dashapp.server import serve as run_server

    click.echo(f"Serving whytrend on http://{host}:{port}/ ({'debug server' if debug else f'gunicorn, {workers} workers'}); "
               f"database {store.url}. Press Ctrl+C to stop.")
    run_server(store.url, host=host, port=port, debug=debug, workers=workers)


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--redis-url", default=None,
              help="The Redis the web app sends its jobs through (default: $WHYTREND_REDIS_URL).")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at once (one process each; a fit uses one core).")
def worker(db: str | None, redis_url: str | None, concurrency: int) -> None:
    """Run background jobs (model fits, explanations) sent by the web app through Redis.

    Start the web app and as many workers as you like with the same WHYTREND_DB,
    WHYTREND_SECRET_KEY and WHYTREND_REDIS_URL. A worker stopped mid-job leaves the job failed,
    shown on the page that started it, which can start it again."""
    from dashapp.job_queue import run_worker
    from dashapp.settings import Settings

    settings = Settings.from_env(db=_store(db).url, redis_url=redis_url)
    run_worker(settings, concurrency=concurrency,
               loglevel=logging.getLevelName(logging.getLogger().getEffectiveLevel()))


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--user", "username", default=None, help="Only this user's jobs.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def jobs(db: str | None, username: str | None, limit: int) -> None:
    """The app's latest background jobs: when, who, what, how each stands and what happened.

    A job whose worker was lost shows as failed here even if no page has asked after it yet."""
    import datetime as dt
    import time

    from dashapp.settings import Settings
    from loaders.jobs import lost_reason, recent_job_runs

    settings = Settings.from_env()
    runs = recent_job_runs(_store(db), username=username, limit=limit)
    if not runs:
        click.echo("No background jobs yet.")
    now = time.time()
    for run in runs:
        reason = lost_reason(run, now, lost_after=settings.job_lost_seconds, queue_wait=settings.job_queue_seconds) \
            if run.state in ("queued", "running") else None
        when = dt.datetime.fromtimestamp(run.queued_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{when}  {run.username:<12} {run.purpose:<8} {run.subject:<22} {'failed' if reason else run.state:<9} "
                   f"{run.worker or '-'}")
        if reason or run.message:
            click.echo(f"    {reason or run.message}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
