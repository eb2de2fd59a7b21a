"""Routes of the directory area: one list, form and (de)activation per kind of row."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock, spreadsheets
from portal.directory import audit_labels as labels
from portal.directory import bp
from portal.directory.forms import (
    REPLY_ACTIONS,
    ApiKeyForm,
    AuditSearchForm,
    CalendarDayForm,
    CannedReplyForm,
    FishingSeasonForm,
    OfficeForm,
    PlaceForm,
    ServiceItemForm,
    ServicePointForm,
    TeamForm,
    UserForm,
)
from portal.domain.credentials import apikeys
from portal.domain.platform import audit, channels, directory, outbox, public_address, unit
from portal.extensions import db
from portal.models import (
    ApiKey,
    CalendarDay,
    CannedReply,
    CaseStatus,
    Channel,
    DayKind,
    FishingSeason,
    Office,
    OutboxMessage,
    Place,
    Role,
    ServiceItem,
    ServicePoint,
    Team,
    User,
)
from portal.web import format_local
from portal.web.forms import options
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.i18n import localized
from portal.web.submit import run, submit

PAGE_SIZE = 50


def _choices(model, label=lambda row: f"{row.code} {localized(row)}", empty=True):
    rows = db.session.scalars(sa.select(model).where(model.active).order_by(model.code))
    return options(([(None, _("— none —"))] if empty else []) + [(row.id, label(row)) for row in rows])


def _place_groups() -> dict[str, list[tuple[int, str]]]:
    """The places to tick, grouped under the place above them (the villages under the island, the hamlets
    under their village, the estates under their district)."""
    places = db.session.scalars(sa.select(Place).where(Place.active).options(joinedload(Place.parent))).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for place in sorted(places, key=lambda p: (p.parent.code if p.parent else "", p.code)):
        group = localized(place.parent) if place.parent else str(_("Top level"))
        groups.setdefault(group, []).append((place.id, f"{place.code} {localized(place)}"))
    return groups


def _fill_user(form):
    form.service_point_id.choices = _choices(ServicePoint)
    form.team_id.choices = _choices(Team, localized)
    form.office_id.choices = _choices(Office, localized)
    form.place_ids.choices = _place_groups()


def _fill_point(form):
    form.place_id.choices = _choices(Place)


def _fill_place(form):
    form.parent_id.choices = _choices(Place)
    form.service_point_id.choices = _choices(ServicePoint)


def _fill_team(form):
    form.service_point_id.choices = _choices(ServicePoint)
    form.place_ids.choices = _place_groups()


def _fill_day(form):
    form.service_point_id.choices = _choices(ServicePoint)


def _day_values(form, obj):
    return {"day": form.day.data, "kind": DayKind(form.kind.data), "name": (form.name.data or "").strip(),
            "service_point_id": form.service_point_id.data}


def _fill_reply(form):
    form.item_id.choices = _choices(ServiceItem)


def _reply_values(form, obj):
    return {"item_id": form.item_id.data, "status": CaseStatus(form.status.data) if form.status.data else None,
            "action": form.action.data or None, "text": form.text.data.strip()}


def _with_places(form, values):
    ids = values.pop("place_ids", []) or []
    values["places"] = list(db.session.scalars(sa.select(Place).where(Place.id.in_(ids)))) if ids else []
    return values


def _user_values(form, obj):
    values = _with_places(form, {k: v for k, v in form.data.items() if k != "csrf_token"})
    values["role"] = Role(values["role"])
    values["phone"] = values["phone"] or ""
    values["email"] = (values.get("email") or "").strip() or None
    return values


def _plain_values(form, obj):
    values = {k: v for k, v in form.data.items() if k != "csrf_token"}
    for key in ("name_en", "category_en", "keywords", "approving_office", "address", "materials"):
        if key in values and values[key] is None:
            values[key] = ""
    if "materials" in values:
        values["materials"] = "\n".join(line.strip() for line in values["materials"].splitlines() if line.strip())
    if "phone" in values:
        values["phone"] = values["phone"] or ""
    if "place_ids" in values:
        values = _with_places(form, values)
    return values


@dataclass
class Section:
    """One kind of directory row: how to list it, edit it and turn form data into values."""

    key: str
    model: type
    form: type
    title: object
    columns: list[tuple[object, Callable]]
    order: object
    searchable: list = field(default_factory=list)
    fill: Callable = lambda form: None
    values: Callable = _plain_values

    def form_for(self, obj=None):
        form = self.form(obj=obj)
        if obj is not None and request.method == "GET":
            for name in ("status", "kind"):
                value = getattr(obj, name, None) if hasattr(form, name) else None
                if value is not None:
                    form[name].data = value.value
        if obj is not None and request.method == "GET" and hasattr(form, "place_ids"):
            form.place_ids.data = [p.id for p in obj.places]
        if obj is not None and request.method == "GET" and hasattr(form, "password"):
            form.password.data = ""
        self.fill(form)
        return form


SECTIONS = {
    s.key: s
    for s in [
        Section(
            "users", User, UserForm, _l("Users"),
            [(_l("Username"), lambda u: u.username), (_l("Name"), lambda u: u.display_name),
             (_l("Role"), lambda u: u.role.label), (_l("Service point"), lambda u: localized(u.service_point)),
             (_l("Team"), lambda u: localized(u.team)), (_l("Office"), lambda u: localized(u.office))],
            User.username, [User.username, User.display_name], _fill_user, _user_values,
        ),
        Section(
            "points", ServicePoint, ServicePointForm, _l("Service points"),
            [(_l("Code"), lambda p: p.code), (_l("Name"), localized), (_l("Kind"), lambda p: p.kind.label),
             (_l("Phone"), lambda p: p.phone)],
            ServicePoint.code, [ServicePoint.code, ServicePoint.name_zh, ServicePoint.name_en], _fill_point,
        ),
        Section(
            "places", Place, PlaceForm, _l("Places"),
            [(_l("Code"), lambda p: p.code), (_l("Name"), localized), (_l("Kind"), lambda p: p.kind.label),
             (_l("Part of"), lambda p: localized(p.parent)), (_l("Served by"), lambda p: localized(p.service_point))],
            Place.code, [Place.code, Place.name_zh, Place.name_en], _fill_place,
        ),
        Section(
            "items", ServiceItem, ServiceItemForm, _l("Service items"),
            [(_l("Code"), lambda i: i.code), (_l("Name"), localized), (_l("Category"), lambda i: localized(i, "category")),
             (_l("Handled as"), lambda i: i.mode.label), (_l("Time limit (hours)"), lambda i: i.sla_hours)],
            ServiceItem.code, [ServiceItem.code, ServiceItem.name_zh, ServiceItem.name_en, ServiceItem.pinyin],
        ),
        Section(
            "teams", Team, TeamForm, _l("Teams"),
            [(_l("Code"), lambda t: t.code), (_l("Name"), localized),
             (_l("Visits per half-day slot"), lambda t: t.capacity_per_slot),
             (_l("Places covered"), lambda t: "、".join(localized(p) for p in t.places))],
            Team.code, [Team.code, Team.name_zh, Team.name_en], _fill_team,
        ),
        Section(
            "offices", Office, OfficeForm, _l("Offices (科室)"),
            [(_l("Code"), lambda o: o.code), (_l("Name"), localized)],
            Office.code, [Office.code, Office.name_zh, Office.name_en],
        ),
        Section(
            "seasons", FishingSeason, FishingSeasonForm, _l("Fishing seasons"),
            [(_l("Name"), lambda s: s.name), (_l("First day"), lambda s: s.first.isoformat()),
             (_l("Last day"), lambda s: s.last.isoformat())],
            FishingSeason.first.desc(), [FishingSeason.name],
        ),
        Section(
            "calendar", CalendarDay, CalendarDayForm, _l("Holidays and make-up days"),
            [(_l("Date"), lambda d: d.day.isoformat()), (_l("Kind"), lambda d: d.kind.label), (_l("Name"), lambda d: d.name),
             (_l("Service point"), lambda d: localized(d.service_point) or _("the whole district"))],
            CalendarDay.day.desc(), [CalendarDay.name], _fill_day, _day_values,
        ),
        Section(
            "replies", CannedReply, CannedReplyForm, _l("Canned replies"),
            [(_l("Phrase"), lambda r: r.text), (_l("Service item"), lambda r: localized(r.item) or _("every item")),
             (_l("Case status"), lambda r: r.status.label if r.status else _("every status")),
             (_l("Offered under"), lambda r: dict(REPLY_ACTIONS).get(r.action, r.action) if r.action else
              _("every action"))],
            CannedReply.id, [CannedReply.text], _fill_reply, _reply_values,
        ),
    ]
}


def _section(key: str) -> Section:
    section = SECTIONS.get(key)
    if section is None:
        abort(404)
    return section


def _row(section: Section, row_id: int):
    obj = db.session.get(section.model, row_id)
    if obj is None:
        abort(404)
    return obj


@bp.get("/")
@allow(Role.ADMIN)
def index():
    """List the kinds of directory rows with their counts."""
    counts = {
        key: db.session.scalar(sa.select(sa.func.count()).select_from(s.model)) for key, s in SECTIONS.items()
    }
    return render("directory/index.html", sections=SECTIONS.values(), counts=counts)


@bp.get("/<section_key>/")
@allow(Role.ADMIN)
def rows(section_key: str):
    """List the rows of one kind, searchable, with inactive ones on request."""
    section = _section(section_key)
    q = request.args.get("q", "").strip()
    show_inactive = request.args.get("inactive") == "1"
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    query = sa.select(section.model)
    if q:
        query = query.where(sa.or_(*[column.icontains(q, autoescape=True) for column in section.searchable]))
    if not show_inactive:
        query = query.where(section.model.active)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.order_by(section.order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render(
        "directory/rows.html", "results", section=section, items=items, q=q, show_inactive=show_inactive,
        page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), total=total,
    )


@bp.route("/<section_key>/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def create(section_key: str):
    """Add a row."""
    section = _section(section_key)
    form = section.form_for()
    done = submit(form, lambda: directory.save(section.model, None, section.values(form, None), me()))
    if done.ok:
        flash(_("Saved."), "success")
        return redirect_to(url_for("directory.edit", section_key=section.key, row_id=done.value.id))
    return render("directory/form.html", section=section, form=form, obj=None, status=done.status)


@bp.route("/<section_key>/<int:row_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit(section_key: str, row_id: int):
    """Change a row."""
    section = _section(section_key)
    obj = _row(section, row_id)
    form = section.form_for(obj)
    done = submit(form, lambda: directory.save(section.model, obj, section.values(form, obj), me()))
    if done.ok:
        flash(_("Saved."), "success")
        return redirect_to(url_for("directory.edit", section_key=section.key, row_id=obj.id))
    return render("directory/form.html", section=section, form=form, obj=obj, status=done.status)


@bp.post("/<section_key>/<int:row_id>/active")
@allow(Role.ADMIN)
def set_active(section_key: str, row_id: int):
    """Deactivate a row (nothing with history is ever deleted), or activate it again."""
    section = _section(section_key)
    obj = _row(section, row_id)
    if run(lambda: directory.set_active(obj, request.form.get("active") == "1", me())).ok:
        flash(_("Saved."), "success")
    return redirect_to(url_for("directory.edit", section_key=section.key, row_id=obj.id))


@bp.post("/users/<int:row_id>/sessions")
@allow(Role.ADMIN)
def end_sessions(row_id: int):
    """Sign a user out of every device."""
    user = _row(SECTIONS["users"], row_id)
    unit.with_retries(lambda: directory.end_sessions(user, me()))
    flash(_("%(name)s has been signed out everywhere.", name=user.display_name), "success")
    return redirect_to(url_for("directory.edit", section_key="users", row_id=user.id))


# --- messages (the outbox) ---------------------------------------------------------------------------------

@bp.get("/messages/")
@allow(Role.ADMIN)
def messages():
    """What the outbox holds: how many messages wait, went out and were given up, those in trouble, the
    channels that have no gateway (their messages wait), and whether links can be sent at all (the public
    address)."""
    return render("directory/messages.html", counts=outbox.counts(), troubled=outbox.troubled(),
                  unconfigured=outbox.unconfigured(), public_address=public_address.base(),
                  channel_setting=lambda channel: channels.get(channel).setting)


@bp.post("/messages/<int:row_id>/retry")
@allow(Role.ADMIN)
def retry_message(row_id: int):
    """Send a given-up message again (after the gateway or the address was put right)."""
    message = db.session.get(OutboxMessage, row_id)
    if message is None:
        abort(404)
    done = run(lambda: outbox.retry(message, me()))  # a number that opted out is refused, and said so
    if done.ok and done.value is None:
        flash(_("Message %(key)s is not given up (any more): nothing to do.", key=message.key), "info")
    elif done.ok and done.value > clock.now():  # a resident's SMS, resent at night
        flash(_("Message %(key)s will be sent after the quiet hours, at %(when)s.", key=message.key,
                when=format_local(done.value)), "success")
    elif done.ok:
        flash(_("Message %(key)s will be sent again within a minute.", key=message.key), "success")
    return redirect_to(url_for("directory.messages"))


# --- API keys of kiosks and other systems (Open311) -------------------------------------------------------

def _key_form() -> ApiKeyForm:
    form = ApiKeyForm()
    points = db.session.scalars(sa.select(ServicePoint).filter_by(active=True).order_by(ServicePoint.code)).all()
    form.point.choices = options([(p.code, f"{p.code} {localized(p)}") for p in points])
    return form


@bp.get("/api-keys/")
@allow(Role.ADMIN)
def api_keys():
    """Keys of the kiosks and systems that log cases through Open311 (/open311/v2/)."""
    return render("directory/api_keys.html", form=_key_form(), keys=apikeys.all_keys(), secret=None)


@bp.post("/api-keys/")
@allow(Role.ADMIN)
def create_api_key():
    """Make a key for a kiosk or system (shown once)."""
    form = _key_form()
    point = lambda: db.session.scalars(sa.select(ServicePoint).filter_by(code=form.point.data)).first()  # noqa: E731
    done = submit(form, lambda: apikeys.create(me(), point(), form.name.data, Channel(form.channel.data)), "name")
    if done.ok:
        key, secret = done.value
        flash(_("The key of %(name)s is below. Copy it into the kiosk now: it is shown only this once.",
                name=key.name), "success")
        return render("directory/api_keys.html", form=_key_form(), keys=apikeys.all_keys(), secret=secret)
    return render("directory/api_keys.html", form=form, keys=apikeys.all_keys(), secret=None, status=422)


@bp.post("/api-keys/<int:key_id>/revoke")
@allow(Role.ADMIN)
def revoke_api_key(key_id: int):
    """Revoke a kiosk's key: its next request is refused."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        abort(404)
    unit.with_retries(lambda: apikeys.revoke(me(), key))
    flash(_("The key of %(name)s is revoked; its kiosk can no longer log cases.", name=key.name), "success")
    return redirect_to(url_for("directory.api_keys"))


# --- the audit log -----------------------------------------------------------------------------------------

AUDIT_PAGE = 100
AUDIT_EXPORT_LIMIT = 100_000


def _audit_query(form: AuditSearchForm):
    return audit.search(form.q.data.strip() if form.q.data else "", form.action.data or "",
                        form.object_type.data or "", form.first.data, form.last.data)


def _audit_form() -> AuditSearchForm:
    form = AuditSearchForm(request.args)
    actions, types = audit.kinds()
    form.action.choices = options([(None, _("Any action")), *((a, labels.action_label(a)) for a in actions)])
    form.object_type.choices = options([(None, _("Any object")), *((t, labels.object_label(t)) for t in types)])
    return form


@bp.get("/audit/")
@allow(Role.ADMIN)
def audit_log():
    """Search the audit log: who did what to which object, when, from where."""
    form = _audit_form()
    form.validate()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    query = _audit_query(form) if not form.errors else audit.search()
    rows = db.session.scalars(query.limit(AUDIT_PAGE + 1).offset((page - 1) * AUDIT_PAGE)).all()
    return render("directory/audit.html", "results", form=form, rows=rows[:AUDIT_PAGE], page=page,
                  more=len(rows) > AUDIT_PAGE, labels=labels, status=422 if form.errors else 200)


@bp.get("/audit.csv")
@allow(Role.ADMIN)
def audit_export():
    """The rows of a search as CSV (UTF-8 with BOM); exporting is itself written to the log."""
    form = _audit_form()
    if not form.validate():
        abort(400)
    rows = db.session.scalars(_audit_query(form).limit(AUDIT_EXPORT_LIMIT)).all()
    audit.record_alone("export", actor=me(), object_type="audit_entries", reason=f"{len(rows)} rows")
    header = [_("Time"), _("Actor"), _("Address"), _("Action"), _("Object"), _("Object id"), _("Changes"), _("Reason")]
    # A failed login keeps the name that was typed: csv_download keeps any cell from running as a formula.
    return spreadsheets.csv_download([header, *(
        (format_local(row.at, "%Y-%m-%d %H:%M:%S"), row.actor_name, row.address,
         f"{labels.action_label(row.action)} ({row.action})", labels.object_label(row.object_type), row.object_id, json.dumps(row.changes, ensure_ascii=False) if row.changes else "", row.reason)
        for row in rows)], "audit.csv")


@bp.get("/<section_key>/export.xlsx")
@allow(Role.ADMIN)
def export(section_key: str):
    """Every row of a directory table as XLSX, in the columns of its list (the export is audited)."""

    section = _section(section_key)
    book = spreadsheets.workbook(write_only=True)
    sheet = book.create_sheet(str(section.title))
    sheet.append(spreadsheets.cells(sheet, [str(label) for label, _value in section.columns] + [_("Active")]))
    rows = db.session.scalars(sa.select(section.model).order_by(section.order)).all()
    for row in rows:
        sheet.append(spreadsheets.cells(sheet, [_export_value(value(row)) for _label, value in section.columns]
                                        + [_("yes") if getattr(row, "active", True) else _("no")]))
    audit.record_alone("export", actor=me(), object_type=section.model.__tablename__, reason=f"{len(rows)} rows")
    return spreadsheets.xlsx_download(book, f"{section_key}.xlsx")


def _export_value(value):
    if value is None:
        return ""
    return value if isinstance(value, int | float) else str(value)
