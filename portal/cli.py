"""The ``flask --app portal`` commands: demo data and accounts (more come with later areas)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import downgrade, upgrade

from portal import demo
from portal.demo import DEMO_PASSWORD
from portal.demo.generate import generate as run
from portal.domain import DomainError, rosters, visits
from portal.domain.boards import counters
from portal.domain.cases import calendar_years, supervision
from portal.domain.credentials import apikeys
from portal.domain.platform import (
    accounts,
    audit,
    backups,
    channels,
    jobs,
    outbox,
    public_address,
    replays,
    retention,
    throttle,
    unit,
)
from portal.extensions import db
from portal.heating import cards
from portal.models import ApiKey, Channel, Household, Role, ServicePoint, User


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_data)
    app.cli.add_command(demo_logins)
    app.cli.add_command(create_admin)
    app.cli.add_command(sweep)
    app.cli.add_command(deliver)
    app.cli.add_command(jobs_group)
    app.cli.add_command(schedule_care_visits)
    app.cli.add_command(print_cards)
    app.cli.add_command(rebuild_stats)
    app.cli.add_command(api_key)
    app.cli.add_command(calendar_group)
    app.cli.add_command(purge_personal_data)
    app.cli.add_command(generate)
    app.cli.add_command(import_roster)
    app.cli.add_command(backup)
    app.cli.add_command(restore)


@click.command("demo-data")
@with_appcontext
@click.option("--force", is_flag=True, help="Erase a database that holds data, then load the demo.")
@click.option("--if-empty", is_flag=True, help="Load only into an empty database; otherwise do nothing.")
@click.option("--cases", default=2000, show_default=True, help="How many demo cases to make.")
def demo_data(force: bool, if_empty: bool, cases: int) -> None:
    """Load the demo directory, households, users and cases."""

    if not demo.database_is_empty():
        if if_empty:
            click.echo("The database already holds data; demo data not loaded.")
            return
        if not force:
            raise click.ClickException(
                "The database already holds data. Use --force to erase it and load the demo data."
            )
        click.echo("Erasing the database (downgrade to base, upgrade to head)...")
        db.session.remove()
        downgrade(revision="base")
        upgrade()
    click.echo("Loading demo data (directory, users, about 10,000 households, cases): about a minute.")
    with click.progressbar(length=cases + sum(demo.STEP_COST.values()), label="demo data") as bar:
        demo.load(case_count=cases, progress=bar.update)
    _print_logins(demo.logins_from_database())


@click.command("demo-logins")
@with_appcontext
@click.option("--all", "everyone", is_flag=True, help="List every user, not one of each kind.")
def demo_logins(everyone: bool) -> None:
    """Print the demo logins."""

    _print_logins(demo.logins_from_database(everyone))


def _print_logins(logins) -> None:

    click.echo("")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for login in logins:
        click.echo(f"  {login.role.value:<7} {login.username:<14} {login.description}")
    click.echo("  (`flask --app portal demo-logins --all` lists every user)")
    click.echo("")


@click.command("create-admin")
@with_appcontext
@click.argument("username")
@click.option("--name", default="系统管理员", help="Display name.")
@click.password_option()
def create_admin(username: str, name: str, password: str) -> None:
    """Create an administrator (for a database without demo data)."""
    problem = accounts.password_problem(password, username)
    if problem:
        raise click.ClickException(str(problem))
    if db.session.scalar(sa.select(User).where(User.username == username)):
        raise click.ClickException(f"The username {username} is already in use.")
    user = User(username=username, display_name=name, role=Role.ADMIN,
                password_hash=accounts.hash_password(password))
    db.session.add(user)
    db.session.flush()
    audit.record("create", obj=user, actor_name="cli", changes={"username": (None, username), "role": (None, "admin")})
    unit.end_step()
    click.echo(f"Administrator {username} created.")


@click.command("sweep")
@with_appcontext
def sweep() -> None:
    """Urge, flag overdue cases and put problem cases under supervision; fold the boards' counter deltas
    (idempotent; run from cron every few minutes)."""

    result = supervision.sweep()
    reminded = visits.remind_tomorrow()
    throttle.purge()
    replays.forget_old()
    folded = counters.compact()
    click.echo(f"reminded {len(result.reminded)}, flagged overdue {len(result.overdue)}, "
               f"put under supervision {len(result.supervised)}, told {reminded} residents of tomorrow's visits, "
               f"folded {folded} counter rows")


@click.command("deliver")
@with_appcontext
@click.option("--limit", default=200, show_default=True, help="At most this many messages in this run.")
def deliver(limit: int) -> None:
    """Send the messages that are due (SMS, e-mail); safe on several hosts at once (run from cron every minute).
    Fails (exit status 1) while messages wait for a channel that has no gateway configured."""

    try:
        outcome = outbox.deliver(limit)
    except ValueError as error:  # settings that could send a message twice
        raise click.ClickException(str(error)) from None
    click.echo(f"sent {outcome['sent']}, to try again {outcome['retry']}, given up {outcome['dead']}, "
               f"waiting for 08:00 {outcome['later']}, stopped by an opt-out {outcome['stopped']}")
    # Nothing is marked sent that was not: messages of a channel with no gateway wait, and cron hears of it.
    waiting = {channel: n for channel, n in outbox.unconfigured().items() if n}
    if waiting:
        raise click.ClickException("; ".join(
            f"no {channel.value} channel is configured ({channels.get(channel).setting}): {n} messages wait"
            for channel, n in waiting.items()))


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs (roster checks and imports): run what waits."""


@jobs_group.command("run")
@with_appcontext
@click.option("--limit", default=None, type=int, help="At most this many jobs in this run.")
def run_jobs(limit: int | None) -> None:
    """Run the jobs that wait, and those a dead process left (run from cron every minute; safe on many hosts)."""

    click.echo(f"ran {jobs.work(limit=limit)} jobs")


@click.command("schedule-care-visits")
@with_appcontext
def schedule_care_visits() -> None:
    """Book the regular care visits due in the next two weeks (idempotent; run daily from cron)."""

    created = visits.schedule_care_visits()
    click.echo(f"booked {len(created)} care visits")


@click.command("cards")
@click.option("--estate", "estates", multiple=True, help="Estate code (repeat for several).")
@click.option("--all", "every", is_flag=True, help="Every estate of the heating district.")
@click.option("--building", default=None, help="Only this building of the estate.")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The HTML file to write (open it in a browser and print).")
@with_appcontext
def print_cards(estates, every: bool, building: str | None, out: str) -> None:
    """Write the convenience cards of estates as printable A4 sheets, eight cards a sheet."""

    base = public_address.base()
    if base is None:
        raise click.ClickException("Set PUBLIC_BASE_URL (the address residents reach the portal at) first: the "
                                   "cards' QR codes open it.")
    places = cards.estates(list(estates), every)
    if not places:
        raise click.ClickException("Name an estate with --estate E01, or give --all.")
    total = sum(cards.count(place, building) for place in places)
    with open(out, "w", encoding="utf-8") as handle, click.progressbar(length=total, label="Cards") as bar:
        handle.write(cards.document_head())
        for place in places:
            for sheet in cards.sheets(place, building, base):
                handle.write(cards.render_sheet(sheet))
                bar.update(len(sheet))
        handle.write("</body></html>\n")
    click.echo(f"{total} cards written to {out}")


@click.command("rebuild-stats")
@with_appcontext
def rebuild_stats() -> None:
    """Recompute the boards' daily counters from the cases and their timelines."""

    click.echo(f"{counters.rebuild()} counter rows written")


@click.group("calendar")
def calendar_group() -> None:
    """The working calendar: each year's holidays and make-up days (README, "Running it")."""


@calendar_group.command("status")
@with_appcontext
def calendar_status() -> None:
    """Say whether this year's and next year's calendars are kept; fail (exit 1) when one that is needed
    is missing or provisional, so that cron mails it."""
    for year, state, row in calendar_years.years():
        click.echo(f"{year}: {state.value if state else 'missing'}" + (f" ({row.source})" if row else ""))
    problem = calendar_years.warning()
    if problem:
        raise click.ClickException(problem)


@calendar_group.command("import")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--without", default="", help="The statutory holidays the file leaves out, named as the refusal "
              "names them (元旦、春节): the year is confirmed without them.")
def calendar_import(path: Path, without: str) -> None:
    """Import a year from the State Council's notice (CSV or .ics); the year is confirmed. Every bad line is
    told, and nothing is imported while there is one, nor while a statutory holiday is missing unless it is
    named in ``--without``."""
    with path.open("rb") as handle:  # no more than the reader takes, whatever the file's size
        parsed = calendar_years.parse(path.name, handle.read(calendar_years.MAX_BYTES + 1))
    for error in parsed.errors:
        click.echo(error, err=True)
    try:
        count = calendar_years.import_year(parsed, None, path.name, without=without)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"{parsed.years[0]}: {parsed.holidays} holidays, {parsed.workdays} make-up days; confirmed ({count} days)")


@calendar_group.command("provisional")
@with_appcontext
@click.argument("year", type=int)
def calendar_provisional(year: int) -> None:
    """Fill a missing year from the holidays library, marked provisional."""
    try:
        count = calendar_years.fill_provisional(year, None)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"{year}: {count} days, provisional until confirmed")


@click.group("api-key")
def api_key() -> None:
    """Keys of the kiosks and systems that use Open311 (also under Directory > API keys)."""


@api_key.command("create")
@click.option("--point", "point_code", required=True, help="Code of the service point its cases go to.")
@click.option("--name", required=True, help="The kiosk or system, e.g. kiosk-1.")
@click.option("--channel", type=click.Choice(["kiosk", "wechat"]), default="kiosk", show_default=True)
@with_appcontext
def api_key_create(point_code: str, name: str, channel: str) -> None:
    """Make a key and print it once (only its fingerprint is kept)."""

    point = db.session.scalars(sa.select(ServicePoint).filter_by(code=point_code)).first()
    try:
        key, secret = apikeys.create(None, point, name, Channel(channel), actor_name="cli")
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"key for {key.name} at {point.code} ({channel}); shown only now:")
    click.echo(secret)


@api_key.command("list")
@with_appcontext
def api_key_list() -> None:

    for key in apikeys.all_keys():
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.id:>4}  {key.prefix}…  {key.name:<20} {key.service_point.code:<8} {key.channel.value:<7} {state}")


@api_key.command("revoke")
@click.argument("name")
@with_appcontext
def api_key_revoke(name: str) -> None:
    """Revoke the active key of a kiosk or system, by its name."""

    key = db.session.scalars(sa.select(ApiKey).filter_by(name=name, revoked_at=None)).first()
    if key is None:
        raise click.ClickException(f"no active key named {name}")
    apikeys.revoke(None, key, actor_name="cli")
    click.echo(f"revoked the key of {name}")


@click.command("purge-personal-data")
@click.option("--years", type=int, default=None, help="Instead of RETENTION_YEARS.")
@click.option("--dry-run", is_flag=True, help="Only say what would be cleared.")
@with_appcontext
def purge_personal_data(years: int | None, dry_run: bool) -> None:
    """Clear residents' personal data from cases finished longer ago than the retention period."""

    result = retention.purge(years, dry_run=dry_run, actor_name="cli")
    verb = "would clear" if dry_run else "cleared"
    click.echo(f"{verb} {result.cases} cases finished before {result.cutoff:%Y-%m-%d} "
               f"({result.notes} notes, {result.comments} callback comments, {result.files} files)")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup(path: str) -> None:
    """Copy the database to PATH while it runs (readable by its owner only)."""

    size = backups.backup(path)
    click.echo(f"backed up to {path} ({size:,} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask: the current data is replaced.")
@with_appcontext
def restore(path: str, yes: bool) -> None:
    """Replace the database with a backup (stop the portal first)."""

    if not yes:
        click.confirm("This replaces every row of the current database. Is the portal stopped?", abort=True)
    backups.restore(path)
    click.echo(f"restored from {path}")


@click.command("generate")
@click.option("--households", default=150_000, show_default=True, help="Households in all, after generating.")
@click.option("--cases", default=1_000_000, show_default=True, help="Cases to add.")
@click.option("--years", default=3, show_default=True, help="Spread the cases over this many years.")
@click.option("--seed", default=2026, show_default=True)
@click.option("--districts", default=1, show_default=True,
              help="A city: copy the directory's district until there are this many, the data spread over them.")
@with_appcontext
def generate(households: int, cases: int, years: int, seed: int, districts: int) -> None:
    """District-scale data for benchmarks, on top of the directory (`demo-data --cases 0` first)."""

    existing = db.session.scalar(sa.select(sa.func.count()).select_from(Household)) or 0
    with click.progressbar(length=max(households - existing, 0) + cases, label="generating") as bar:
        try:
            result = run(households, cases, seed=seed, years=years, districts=districts, progress=bar.update)
        except DomainError as error:
            raise click.ClickException(str(error.message)) from None
    click.echo(f"added {result.households} households ({result.residents} residents), {result.cases} cases "
               f"({result.events} timeline events); board counters rebuilt")


@click.command("import-households")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["households", "places", "catalog"]), default="households",
              show_default=True, help="What the file holds.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False), help="Write the rows with errors here.")
@with_appcontext
def import_roster(path: str, kind: str, dry_run: bool, errors_path: str | None) -> None:
    """Import a roster (XLSX or CSV) of any size, with the checks of the web import: read, checked and written
    2,000 rows at a time (one transaction each), so memory stays that of a chunk whatever the file's size (with
    ``--errors``, plus the rows with errors), and a run stopped halfway is finished by running it again (rows
    already in are unchanged)."""

    roster, source = rosters.KINDS[kind], Path(path)
    counts, invalid, written = Counter(), [], Counter()
    try:
        with click.progressbar(length=max(rosters.row_estimate(source), 1),
                               label="checking" if dry_run else "importing") as bar:
            for chunk in rosters.check_in_chunks(roster, source, progress=bar.update):
                if chunk.missing:
                    raise click.ClickException("missing columns: " + ", ".join(chunk.missing))
                counts.update(row.action if row.ok else "invalid" for row in chunk.rows)
                if errors_path:
                    invalid += chunk.invalid  # kept to write them out: only the rows with errors
                if not dry_run and chunk.rows:
                    result = rosters.apply(roster, chunk, None, actor_name="cli")
                    written.update(created=result.created, updated=result.updated, same=result.same,
                                   skipped=result.skipped)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"{counts.total()} rows: {counts['new']} new, {counts['update']} to update, {counts['same']} unchanged, "
               f"{counts['invalid']} with errors")
    if errors_path and invalid:
        Path(errors_path).write_bytes(rosters.error_workbook(roster, rosters.Check(roster.key, invalid, [])))
        click.echo(f"rows with errors written to {errors_path}")
    if not dry_run:
        click.echo(f"imported: {written['created']} new, {written['updated']} updated, {written['same']} unchanged, "
                   f"{written['skipped']} skipped")
