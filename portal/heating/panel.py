"""The room-temperature part of a heating case's page: the household's readings beside the standard, and the form
to record one on the fault."""
from __future__ import annotations

from portal.cases import page
from portal.domain import access, heating
from portal.heating.forms import TemperatureForm
from portal.models import Case, User


@page.panel
def temperature_panel(case: Case, user: User, temperature_form=None, **_other_parts) -> dict:
    """A heating fault of a registered household: its readings, and the form for whoever covers the household."""
    if case.household is None or case.item.category_zh != "供热":
        return {"temperatures": None}
    may_record = case.status.is_open and access.can(user, "household.door", case.household)
    return {"temperatures": {
        "readings": heating.readings_of(case.household), "standard": heating.standard(),
        "form": (temperature_form or TemperatureForm(formdata=None)) if may_record else None}}
