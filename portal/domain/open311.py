"""Open311 GeoReport v2: the service list and definitions from the catalog, logging a service request
from a kiosk or another system, and following requests (http://wiki.open311.org/GeoReport_v2).

The portal's cases are about people, not potholes, so what any reader can GET is kept to what a
notice board could show: the service, its status, the hamlet or estate, the service point and dates.
No name, phone, house address or free text a person typed ever leaves through a GET; the resident
follows their own case on the public lookup page with the last digits of their phone.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import DomainError, visits
from portal.domain.cases import intake
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    ApiKey,
    Case,
    CaseStatus,
    Household,
    IdempotentRequest,
    Mode,
    Place,
    ServiceItem,
)

MAX_ROWS = 1000
MAX_SPAN = timedelta(days=90)
MAX_DESCRIPTION = 4000


class Open311Error(Exception):
    """An error as the spec answers it: an HTTP status and a description."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


# --- services ------------------------------------------------------------------------------------------

def services() -> list[ServiceItem]:
    return list(db.session.scalars(sa.select(ServiceItem).where(ServiceItem.active).order_by(ServiceItem.code)))


def service(code: str) -> ServiceItem:
    item = db.session.scalars(sa.select(ServiceItem).where(ServiceItem.code == code, ServiceItem.active)).first()
    if item is None:
        raise Open311Error(404, f"service_code {code} not found")
    return item


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str            # string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool
    description: str
    datatype_description: str
    values: tuple[tuple[str, str], ...] = ()
    variable: bool = True


PREFERRED_TIMES = (("morning", "上午"), ("afternoon", "下午"), ("any", "都可以"))


def attributes(item: ServiceItem) -> list[Attribute]:
    """What a request for ``item`` may say beyond the standard fields."""
    found = []
    materials = item.material_list
    if materials:
        found.append(Attribute(
            "materials", "multivaluelist", False, "已备好的材料（所需材料：" + "、".join(materials) + "）",
            "选择已经准备好的材料", tuple((f"m{n}", name) for n, name in enumerate(materials, 1))))
    if item.mode is Mode.HOME:
        found.append(Attribute("preferred_time", "singlevaluelist", False, "希望上门的时段",
                               "上午、下午或都可以", PREFERRED_TIMES))
    return found


def keywords(item: ServiceItem) -> str:
    words = [item.code, *item.keywords.split(), *(item.pinyin.split()[:1])]
    return ",".join(dict.fromkeys(w for w in words if w))


def notice(item: ServiceItem) -> str:
    """What the resident should know when the request is logged (service_notice)."""
    parts = []
    if item.mode is Mode.ERRAND:
        parts.append("由代办党员代为办理，无需出岛")
    elif item.mode is Mode.HOME:
        parts.append("由上门服务队预约上门")
    days, hours = divmod(item.sla_hours, 24)
    if item.urgent:
        parts.append(f"{item.sla_hours} 小时内处理")
    else:
        parts.append("办理时限 " + " ".join(p for p in (f"{days} 个工作日" if days else "",
                                                     f"{hours} 个工作小时" if hours else "") if p))
    if item.material_list:
        parts.append("所需材料：" + "、".join(item.material_list))
    return "；".join(parts)


# --- logging a request ------------------------------------------------------------------------------------

def _location(form) -> tuple[Household | None, Place | None, str]:
    address_id = (form.get("address_id") or "").strip()
    address = (form.get("address_string") or "").strip()[:200]
    lat, long = (form.get("lat") or "").strip(), (form.get("long") or "").strip()
    if address_id:
        household = db.session.scalars(sa.select(Household).options(joinedload(Household.place))
                                       .where(Household.code == address_id, Household.active)).first()
        if household is not None:
            return household, household.place, address
        place = db.session.scalars(sa.select(Place).where(Place.code == address_id, Place.active)).first()
        if place is None:
            raise Open311Error(400, f"address_id {address_id[:40]} is not a household or place code")
        return None, place, address or place.name_zh
    if address:
        return None, None, address
    if lat and long:
        try:
            latitude, longitude = float(lat), float(long)
        except ValueError:
            raise Open311Error(400, "lat and long must be decimal degrees") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Open311Error(400, "lat and long must be decimal degrees")
        return None, None, f"{latitude:.6f},{longitude:.6f}"
    raise Open311Error(400, "a location is required: address_string, address_id, or lat and long")


def _attribute_lines(item: ServiceItem, form) -> list[str]:
    """The attribute[...] answers as lines of the description; a required or unknown value is refused."""
    lines = []
    for attribute in attributes(item):
        given = [v for v in form.getlist(f"attribute[{attribute.code}][]") + form.getlist(f"attribute[{attribute.code}]")
                 if v]
        if attribute.required and not given:
            raise Open311Error(400, f"attribute[{attribute.code}] is required")
        names = dict(attribute.values)
        if names:
            unknown = [v for v in given if v not in names]
            if unknown:
                raise Open311Error(400, f"attribute[{attribute.code}] has no value {unknown[0][:20]}")
            if attribute.datatype == "singlevaluelist" and len(given) > 1:
                raise Open311Error(400, f"attribute[{attribute.code}] takes one value")
            given = [names[v] for v in given]
        if given:
            lines.append(f"{attribute.description.split('（')[0]}：" + "、".join(given))
    return lines


IDEMPOTENCY_LOCK = 5503  # the first key of the advisory lock that queues two posts of one idempotency key
_KEY = re.compile(r"^[\x21-\x7e]{1,120}$")


def idempotency_key(header: str | None, form) -> str | None:
    """The key a client sent to make its POST safe to retry: the ``Idempotency-Key`` header, or, for GeoReport
    clients that cannot set headers, the ``attribute[idempotency_key]`` (or ``idempotency_key``) field."""
    value = header or form.get("attribute[idempotency_key]") or form.get("idempotency_key")
    if value is None:
        return None
    value = value.strip()
    if not _KEY.match(value):
        raise Open311Error(400, "Idempotency-Key must be 1 to 120 printable ASCII characters")
    return value


def submit(key: ApiKey, form, idempotency: str | None = None) -> tuple[Case, bool]:
    """Log a case from a POST requests.{fmt} of ``key``'s kiosk or system; return it, and whether it is a
    replay: a POST with an ``idempotency`` key already used by this API key answers the case logged then."""
    if idempotency is None:
        return _log(key, form), False
    if db.session.get_bind().dialect.name == "postgresql":  # SQLite's write lock already queues the two
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            IDEMPOTENCY_LOCK, sa.func.hashtext(f"{key.id}:{idempotency}"))))
    earlier = db.session.scalar(sa.select(Case).join(IdempotentRequest, IdempotentRequest.case_id == Case.id)
                                .where(IdempotentRequest.api_key_id == key.id, IdempotentRequest.key == idempotency))
    if earlier is not None:
        return earlier, True
    case = _log(key, form)
    db.session.add(IdempotentRequest(api_key_id=key.id, key=idempotency, case_id=case.id))
    unit.end_step()
    return case, False


def _log(key: ApiKey, form) -> Case:
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    item = db.session.scalars(sa.select(ServiceItem).where(ServiceItem.code == code, ServiceItem.active)).first()
    if item is None:
        raise Open311Error(404, f"service_code {code[:20]} not found")
    household, place, address = _location(form)
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    lines = [description or item.name_zh, *_attribute_lines(item, form)]
    name = ((form.get("last_name") or "").strip() + (form.get("first_name") or "").strip())[:50]
    email = (form.get("email") or "").strip()
    if email:
        lines.append(f"电子邮箱：{email[:100]}")
    point = key.service_point if item.mode is Mode.COUNTER else (
        intake.responsible_point(item.mode, place, None) or key.service_point)
    try:
        return visits.log_and_offer(None, item, key.channel, "\n".join(lines), name or "未留姓名",
                                    form.get("phone") or "", household=household, place=place, address=address,
                                    point=point, actor_label=key.channel.value)
    except DomainError as error:  # log_case saved nothing
        raise Open311Error(400, f"{error.field or 'request'}: {error.message}") from None


# --- following requests ------------------------------------------------------------------------------------

def status_of(case: Case) -> str:
    """open while someone still works on it; closed once resolved, closed, merged or cancelled."""
    return "open" if case.status in OPEN_STATUSES else "closed"


def w3c(moment: datetime | None) -> str:
    return clock.local(moment).isoformat(timespec="seconds") if moment is not None else ""


def parse_w3c(value: str, name: str, end: bool = False) -> datetime:
    """A W3C date and time (a date alone is local: its start, or for ``end`` its end)."""
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or not 2000 <= moment.year <= 2100:
        raise Open311Error(400, f"{name} must be a W3C date and time, e.g. 2026-11-01T00:00:00+08:00")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.LOCAL_TZ)
        if end and len(text) == 10:  # 2026-11-05 as an end: the whole of that day
            moment += timedelta(days=1)
    return moment


def _loaded():
    return (joinedload(Case.item), joinedload(Case.place), joinedload(Case.service_point))


def find(args) -> list[Case]:
    """GET requests.{fmt}: by ids (which override everything else), or by service, dates and status."""
    ids = [i.strip() for i in (args.get("service_request_id") or "").split(",") if i.strip()]
    if ids:
        if len(ids) > MAX_ROWS:
            raise Open311Error(400, f"at most {MAX_ROWS} service_request_id at once")
        return list(db.session.scalars(sa.select(Case).options(*_loaded()).where(Case.number.in_(ids))
                                       .order_by(Case.created_at.desc())))
    now = clock.now()
    end = parse_w3c(args["end_date"], "end_date", end=True) if args.get("end_date") else None
    start = parse_w3c(args["start_date"], "start_date") if args.get("start_date") else None
    if start is None and end is None:
        start, end = now - MAX_SPAN, now
    elif start is None:
        start = end - MAX_SPAN
    elif end is None:
        end = min(start + MAX_SPAN, now) if start < now else start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date comes before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    conditions = [Case.created_at >= start, Case.created_at <= end]
    codes = [c.strip() for c in (args.get("service_code") or "").split(",") if c.strip()]
    if codes:
        conditions.append(Case.item_id.in_(sa.select(ServiceItem.id).where(ServiceItem.code.in_(codes))))
    statuses = {s.strip() for s in (args.get("status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status must be open or closed")
    if statuses == {"open"}:
        conditions.append(Case.status.in_(OPEN_STATUSES))
    elif statuses == {"closed"}:
        conditions.append(Case.status.not_in(OPEN_STATUSES))
    return list(db.session.scalars(sa.select(Case).options(*_loaded()).where(*conditions)
                                   .order_by(Case.created_at.desc()).limit(MAX_ROWS)))


def one(number: str) -> Case:
    case = db.session.scalars(sa.select(Case).options(*_loaded()).where(Case.number == number)).first()
    if case is None:
        raise Open311Error(404, f"service_request_id {number[:30]} not found")
    return case


STATUS_NOTES = {
    CaseStatus.LOGGED: "已受理，等待签收",
    CaseStatus.CLAIMED: "已签收",
    CaseStatus.IN_PROGRESS: "办理中",
    CaseStatus.AWAITING_OFFICE: "已报上级部门审批",
    CaseStatus.RETURNED: "退回服务点重新派单",
    CaseStatus.RESOLVED: "已办结，等待回访",
    CaseStatus.CLOSED: "已办结",
    CaseStatus.MERGED: "与另一件重复，已合并",
    CaseStatus.CANCELLED: "已撤销",
}


def fields(case: Case) -> dict[str, str]:
    """A request as GeoReport lists it: nothing that names or locates a person."""
    place = case.place
    return {
        "service_request_id": case.number,
        "status": status_of(case),
        "status_notes": STATUS_NOTES.get(case.status, ""),
        "service_name": case.item.name_zh,
        "service_code": case.item.code,
        "description": case.item.name_zh,
        "agency_responsible": case.service_point.name_zh,
        "service_notice": notice(case.item),
        "requested_datetime": w3c(case.created_at),
        "updated_datetime": w3c(case.updated_at),
        # When it is expected to be fulfilled: while it is open; a request resolved, closed or withdrawn expects nothing.
        "expected_datetime": w3c(case.due_at) if case.status.is_open else "",
        "address": place.name_zh if place is not None else "",
        "address_id": place.code if place is not None else "",
    }


# --- tokens ----------------------------------------------------------------------------------------------

def token_for(case: Case) -> str:
    """A token for a logged request, which tokens/{token} turns back into its id (no storage needed)."""
    mac = hmac.new(current_app.secret_key.encode(), f"open311:{case.id}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"{case.id}-{mac}"


TOKEN = re.compile(r"^([0-9]{1,11})-[0-9a-f]{16}$")


def case_for_token(token: str) -> Case:
    match = TOKEN.match(token)
    case = db.session.get(Case, int(match.group(1))) if match else None
    if case is None or not hmac.compare_digest(token_for(case), token):
        raise Open311Error(404, "token not found")
    return case
