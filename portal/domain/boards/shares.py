"""Everyone's share (各人成效): per party-member proxy, per district butler and per on-site team, what they did in a
period of a board's scope, defined in docs/METRICS.md ("Everyone's share").

Counted with the board's own rules, from the same events: a resolution is one of the board's 办结量
(``results.resolutions``: the resolution events of the period, where each event kept the case), credited to who
resolved it (its event's actor) or, for a team, to the team it was counted for; on time as the event recorded it;
satisfaction by cohort, each callback with the resolution it follows (``counters.callback``). So a team's
resolutions are its board's, and no one's share counts a case outside the lead's scope.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from portal.domain.boards import results
from portal.domain.boards.metrics import Rate
from portal.domain.boards.periods import Period
from portal.domain.boards.scopes import Scope
from portal.extensions import db
from portal.models import (
    CallbackRecord,
    CampaignVisit,
    Case,
    CaseEvent,
    CaseMaterial,
    Holder,
    Mode,
    Role,
    Satisfaction,
    Team,
    User,
    Visit,
    VisitResult,
    VisitStatus,
)
from portal.models.people import team_places, user_places

RATED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED)
SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY)


@dataclass
class Share:
    """One person's (or one team's) part of a period."""

    who: User | Team
    resolved: int = 0           # resolutions (a proxy's: of errands)
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    visits: int = 0             # home visits finished (and a butler's campaign doors found at home)
    documents: int = 0          # a proxy's: original documents held now
    _events: set[int] = field(default_factory=set, repr=False)

    @property
    def on_time_rate(self) -> Rate:
        return Rate(self.on_time, self.resolved)

    @property
    def satisfaction(self) -> Rate:
        return Rate(self.satisfied, self.rated)

    def count(self, row: results.Resolution) -> None:
        self.resolved += 1
        self.on_time += int(row.on_time)
        self._events.add(row.event_id)


@dataclass
class Shares:
    scope: Scope
    period: Period
    proxies: list[Share]
    butlers: list[Share]
    teams: list[Share]


def _scope_places(scope: Scope) -> list[int] | None:
    """The places of the scope (None: every place)."""
    if scope.kind.subjects is None:
        return None
    if scope.point is not None:
        return [i for tile in scope.tile_ids for i in scope.places.subtree(tile)]
    if scope.team is not None:
        return [p.id for p in scope.team.places]
    return list(scope.ids)


def _people(scope: Scope, role: Role, active: set[int]) -> list[User]:
    """The users of ``role`` in the scope (covering one of its places, of its point or team), and any other who did
    something in it in the period."""
    places = _scope_places(scope)
    if places is None:
        belongs = User.active
    else:
        covers = sa.exists().where(user_places.c.user_id == User.id, user_places.c.place_id.in_(places))
        belongs = sa.and_(User.active, sa.or_(
            covers, User.service_point_id == (scope.point.id if scope.point else -1),
            User.team_id == (scope.team.id if scope.team else -1)))
    return list(db.session.scalars(sa.select(User).where(User.role == role, sa.or_(belongs, User.id.in_(active)))
                                   .order_by(User.display_name, User.username)))


def _teams(scope: Scope, active: set[int]) -> list[Team]:
    places = _scope_places(scope)
    if places is None:
        belongs = Team.active
    elif scope.team is not None:
        belongs = Team.id == scope.team.id
    else:
        belongs = sa.and_(Team.active, sa.or_(
            sa.exists().where(team_places.c.team_id == Team.id, team_places.c.place_id.in_(places)),
            Team.service_point_id == (scope.point.id if scope.point else -1)))
    return list(db.session.scalars(sa.select(Team).where(sa.or_(belongs, Team.id.in_(active))).order_by(Team.code)))


def _satisfaction(rows: list[results.Resolution], credit: dict[int, list[Share]]) -> None:
    """Each callback of the period's resolved cases, with the resolution it follows (the last one before it): counted
    to that resolution's shares when the resolution is one of the period's."""
    case_ids = {row.case_id for row in rows}
    if not case_ids:
        return
    events = defaultdict(list)
    for case_id, event_id, at in db.session.execute(
            sa.select(CaseEvent.case_id, CaseEvent.id, CaseEvent.at).where(
                CaseEvent.case_id.in_(case_ids), CaseEvent.kind.in_(results.counters.RESOLUTIONS))
            .order_by(CaseEvent.at, CaseEvent.id)):
        events[case_id].append((at, event_id))
    for callback in db.session.execute(sa.select(CallbackRecord.case_id, CallbackRecord.at,
                                                 CallbackRecord.satisfaction)
                                       .where(CallbackRecord.case_id.in_(case_ids))):
        followed = [event_id for at, event_id in events[callback.case_id] if at <= callback.at]
        if not followed:
            continue
        for share in credit.get(followed[-1], []):
            share.rated += int(callback.satisfaction in RATED)
            share.satisfied += int(callback.satisfaction in SATISFIED)


def _bounds(period: Period) -> tuple[datetime, datetime]:
    return results._bounds(period)


def shares(scope: Scope, period: Period) -> Shares:
    """Every proxy's, butler's and team's share of ``scope`` in ``period``."""
    rows = [row for row in results.resolutions(scope, period) if not row.proactive]  # requests, as the board counts
    start, end = _bounds(period)
    in_scope = Visit.case_id.in_(sa.select(Case.id).where(scope.cases))
    done = [Visit.status == VisitStatus.DONE, Visit.finished_at >= start, Visit.finished_at < end, in_scope]
    visits_by_user = dict(db.session.execute(sa.select(Visit.done_by_id, sa.func.count()).where(*done)
                                             .group_by(Visit.done_by_id)).all())
    visits_by_team = dict(db.session.execute(sa.select(Visit.team_id, sa.func.count()).where(*done)
                                             .group_by(Visit.team_id)).all())
    places = _scope_places(scope)
    doors = sa.select(CampaignVisit.by_id, sa.func.count()).where(
        CampaignVisit.at >= start, CampaignVisit.at < end, CampaignVisit.result != VisitResult.NOT_HOME)
    if places is not None:
        doors = doors.where(CampaignVisit.place_id.in_(places))
    doors_by_user = dict(db.session.execute(doors.group_by(CampaignVisit.by_id)).all())
    held = dict(db.session.execute(
        sa.select(CaseMaterial.holder_user_id, sa.func.count()).join(Case, Case.id == CaseMaterial.case_id)
        .where(CaseMaterial.holder == Holder.PROXY, scope.cases).group_by(CaseMaterial.holder_user_id)).all())

    actors = {row.actor_id for row in rows if row.actor_id is not None}
    proxies = {u.id: Share(u) for u in _people(scope, Role.PROXY, actors & _ids(Role.PROXY) | set(held))}
    butlers = {u.id: Share(u) for u in _people(scope, Role.BUTLER, actors & _ids(Role.BUTLER)
                                               | set(doors_by_user) & _ids(Role.BUTLER))}
    teams = {t.id: Share(t) for t in _teams(scope, {row.team_id for row in rows if row.team_id} | set(visits_by_team))}

    credit: dict[int, list[Share]] = defaultdict(list)
    for row in rows:
        person = proxies.get(row.actor_id) if row.mode is Mode.ERRAND else None
        person = person or butlers.get(row.actor_id)
        for share in (person, teams.get(row.team_id)):
            if share is not None:
                share.count(row)
                credit[row.event_id].append(share)
    _satisfaction(rows, credit)
    for user_id, share in proxies.items():
        share.documents = int(held.get(user_id, 0))
    for user_id, share in butlers.items():
        share.visits = int(visits_by_user.get(user_id, 0)) + int(doors_by_user.get(user_id, 0))
    for team_id, share in teams.items():
        share.visits = int(visits_by_team.get(team_id, 0))
    return Shares(scope, period, list(proxies.values()), list(butlers.values()), list(teams.values()))


def _ids(role: Role) -> set[int]:
    return set(db.session.scalars(sa.select(User.id).where(User.role == role)))
