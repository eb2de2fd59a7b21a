"""Who may see a household and its residents, and which household a new case may name.

A household (its address, its residents' names and ID numbers, its care flags) is seen by those who cover
its place: the staff and leads of its point, its proxy, its team, its butler; a district lead and the
administrator see every household.

Logging a case (at a counter, on the heating hotline) may name a household the clerk does not cover: a
resident of another hamlet walks into the centre. It may do so only when the household is reachable at
the phone number the caller gave, in the part of the district the clerk works in (the island, or the
heating district). A resident named on a case must belong to its household. The caller look-up, which
shows those households as the phone is typed, follows the same rule, and is audited.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.domain.access.people import areas, below, covers, places_condition, sees_everything
from portal.domain.access.policy import rule
from portal.domain.platform import privacy
from portal.models import Household, Resident, Role, User


def household_scope(user: User) -> sa.ColumnElement[bool]:
    return places_condition(user, Household.place_id)


@rule("household.view", Household, sql=household_scope, reads=True)
def may_see(user: User, household: Household) -> bool:
    return covers(user, household.place_id)


@rule("roster.directory")
def may_import_directory(user: User) -> bool:
    """Import places and the service catalog: administrators."""
    return user.role is Role.ADMIN


def area_condition(user: User) -> sa.ColumnElement[bool]:
    """Households in the trees the user works in (every household, for those who see everything)."""
    if sees_everything(user):
        return sa.true()
    roots = areas(user)
    return Household.place_id.in_(below(roots)) if roots else sa.false()


def in_area(user: User, household: Household) -> bool:
    return sees_everything(user) or household.place_id in below(areas(user))


def at_phone(phone: str) -> sa.ColumnElement[bool]:
    """Households reachable at a phone number: their own numbers, or a resident's."""
    digits = privacy.normalise_phone(phone)
    if len(digits) < 7:
        return sa.false()
    reachable = sa.union(sa.select(Household.id).where(Household.phone == digits),
                         sa.select(Household.id).where(Household.phone2 == digits),
                         sa.select(Resident.household_id).where(Resident.phone == digits))
    return Household.id.in_(sa.select(reachable.subquery().c[0]))


def reachable(user: User, phone: str) -> sa.ColumnElement[bool]:
    """The households a case logged by ``user`` for a caller at ``phone`` may name, in SQL."""
    return sa.or_(household_scope(user), sa.and_(at_phone(phone), area_condition(user)))


def usable(user: User, household: Household, phone: str) -> bool:
    """``reachable`` for one household."""
    if may_see(user, household):
        return True
    digits = privacy.normalise_phone(phone)
    if len(digits) < 7 or not in_area(user, household):
        return False
    return digits in (household.phone, household.phone2) or any(r.phone == digits for r in household.residents)


def resident_of(household: Household | None, resident: Resident | None) -> bool:
    """A resident may be named only with their own household."""
    return resident is None or (household is not None and resident.household_id == household.id)
