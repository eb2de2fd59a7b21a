"""Notices (信息发布): staff publish them for a place (and the places below it) or the whole district,
with a period of validity; kiosks and the public pages show the current ones, staff see theirs on the
home page. Bodies are Markdown or plain text, turned into HTML that keeps only harmless tags."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import markdown
import nh3
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import Conflict, DomainError, Forbidden, access
from portal.domain.platform import audit, unit
from portal.domain.platform.text import typed
from portal.extensions import db
from portal.models import Notice, Place, User

MAX_BODY = 5000
TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "blockquote", "code", "pre", "hr"}


def _link_filter(tag: str, attribute: str, value: str) -> str | None:
    """Links stay on the portal (or are phone numbers): a kiosk's browser must not wander off. Browsers read
    a backslash as a slash and drop tabs and newlines inside a URL, so "/\\evil.example" would leave the
    portal: such links are read as browsers read them (and without any blank) before they are judged."""
    if tag != "a" or attribute != "href":
        return value
    seen = "".join(ch for ch in value if not ch.isspace()).replace("\\", "/")
    own = urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc
    target = urlsplit(seen)
    if target.scheme in ("tel", "mailto"):
        return value
    if not target.scheme and not target.netloc and not seen.startswith("//"):
        return seen
    return seen if target.scheme in ("http", "https") and target.netloc == own else None


def html(body: str) -> Markup:
    """The body as HTML: Markdown rendered, then everything but a few harmless tags removed."""
    rendered = markdown.markdown(body or "", extensions=["nl2br"], output_format="html")
    clean = nh3.clean(rendered, tags=TAGS, attributes={"a": {"href", "title"}}, attribute_filter=_link_filter,
                      url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener noreferrer")
    return Markup(clean)  # sanitised by nh3 just above


def publishable_places(user: User) -> list[Place] | None:
    """The places ``user`` may publish for; None means any place and the whole district."""
    allowed = access.notices.publishable_ids(user)
    if allowed is None:
        return None
    return list(db.session.scalars(sa.select(Place).where(Place.id.in_(allowed), Place.active).order_by(Place.code)))


def _check(user: User, place: Place | None) -> None:
    if access.can(user, "notice.publish", place):
        return
    if place is None:
        raise Forbidden(_l("Only station heads and leaders publish for the whole district."))
    raise Forbidden(_l("You may publish only for the places you cover."))


def _validate(title: str, body: str, valid_from: date | None, valid_to: date | None) -> tuple[str, str]:
    title = typed(title, "title", 100, required=_l("Give the notice a title."))
    body = typed(body, "body", MAX_BODY)
    if valid_from is None:
        raise DomainError(_l("Enter the first day the notice shows."), field="valid_from")
    if valid_to is None:
        raise DomainError(_l("Enter the last day the notice shows."), field="valid_to")
    if valid_to < valid_from:
        raise DomainError(_l("The last day cannot come before the first day."), field="valid_to")
    return title, body


def publish(user: User, title: str, body: str, place: Place | None, valid_from: date | None,
            valid_to: date | None) -> Notice:
    _check(user, place)
    title, body = _validate(title, body, valid_from, valid_to)
    notice = Notice(title=title, body=body, place=place, valid_from=valid_from, valid_to=valid_to, created_by=user)
    db.session.add(notice)
    db.session.flush()
    audit.record("publish", actor=user, obj=notice, reason=place.code if place else "all")
    unit.end_step()
    return notice


def update(user: User, notice: Notice, version: int, title: str, body: str, place: Place | None,
           valid_from: date | None, valid_to: date | None) -> None:
    if not access.can(user, "notice.edit", notice):
        raise Forbidden(_l("You may publish only for the places you cover."))
    if notice.withdrawn_at is not None:
        raise DomainError(_l("This notice was withdrawn; publish a new one instead."))
    _check(user, place)
    title, body = _validate(title, body, valid_from, valid_to)
    if notice.version != version:
        raise _stale(notice)
    changes = audit.apply_changes(notice, {"title": title, "body": body, "place_id": place.id if place else None,
                                           "valid_from": valid_from, "valid_to": valid_to})
    audit.record("update", actor=user, obj=notice, changes=changes)
    try:
        unit.end_step()
    except Conflict:
        raise _stale(notice) from None


def _stale(notice: Notice) -> Conflict:
    return Conflict(_l("Someone changed this notice while you were editing it; your changes were not saved. "
                       "Here is the notice as it is now."))


def withdraw(user: User, notice: Notice) -> None:
    if not access.can(user, "notice.edit", notice):
        raise Forbidden(_l("You may publish only for the places you cover."))
    if notice.withdrawn_at is None:
        notice.withdrawn_at = clock.now()
        audit.record("withdraw", actor=user, obj=notice)
        unit.end_step()


def _ancestors(place: Place | None) -> list[int]:
    ids = []
    while place is not None:
        ids.append(place.id)
        place = place.parent
    return ids


def current(place: Place | None = None, day: date | None = None, places: list[int] | None = None,
            everything: bool = False) -> list[Notice]:
    """Notices showing today for ``place`` (its own, those of the places above it, and the district's),
    for any of ``places``, or ``everything``; newest first."""
    day = day or clock.today()
    query = sa.select(Notice).options(joinedload(Notice.place)).where(
        Notice.withdrawn_at.is_(None), Notice.valid_from <= day, Notice.valid_to >= day)
    if everything:
        pass
    elif places is not None:
        query = query.where(sa.or_(Notice.place_id.is_(None), Notice.place_id.in_(places)))
    else:  # a place's own notices and those of the places above it; without a place, the district's only
        query = query.where(sa.or_(Notice.place_id.is_(None), Notice.place_id.in_(_ancestors(place))))
    return list(db.session.scalars(query.order_by(Notice.valid_from.desc(), Notice.id.desc())))


def for_user(user: User) -> list[Notice]:
    """What a signed-in user sees on the home page: every current notice for a lead, else the district's
    and those of the places they cover (and the places above them)."""
    if access.sees_everything(user):
        return current(everything=True)
    ids = set(access.place_ids(user))
    for place in list(user.places):
        ids.update(_ancestors(place))
    return current(places=list(ids))


def managed_by(user: User) -> list[Notice]:
    """Notices a user may edit, current and past, newest first."""
    query = sa.select(Notice).options(joinedload(Notice.place), joinedload(Notice.created_by))
    return list(db.session.scalars(query.where(access.scope(user, "notice.edit"))
                                   .order_by(Notice.created_at.desc()).limit(200)))
