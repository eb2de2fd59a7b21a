"""The access rules: the SQL form (lists, counts, exports) and the one-case form (pages, actions)
must say the same thing for every user and every case."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.domain import access
from portal.extensions import db
from portal.models import Case, CaseStatus, Role, User


def test_sql_and_python_rules_agree_for_every_demo_user_and_case(demo_app):
    with demo_app.app_context():
        users = db.session.scalars(sa.select(User).options(selectinload(User.places))).all()
        cases = db.session.scalars(sa.select(Case)).all()
        for user in users:
            visible = set(db.session.scalars(sa.select(Case.id).where(access.case_scope(user))))
            assert visible == {c.id for c in cases if access.can_view(user, c)}, user.username
            claimable = set(db.session.scalars(sa.select(Case.id).where(access.claimable(user))))
            assert claimable == {c.id for c in cases
                                 if c.status is CaseStatus.LOGGED and access.may(user, "claim", c)}, user.username


def test_each_role_sees_what_the_rules_say(demo_app):
    with demo_app.app_context():
        def seen(username):
            user = db.session.scalars(sa.select(User).filter_by(username=username)).one()
            return db.session.scalars(sa.select(Case).where(access.case_scope(user))).all(), user

        everything = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
        assert len(seen("leader")[0]) == everything
        proxy_cases, proxy = seen("proxy-h01")
        assert proxy_cases and all(c.mode.value == "errand" and c.place.code == "H01" or c.owner_id == proxy.id
                                   for c in proxy_cases)
        butler_cases, _ = seen("butler-e01")
        assert butler_cases and {c.place.code for c in butler_cases} == {"E01"}
        team_cases, member = seen("team1-a")
        assert team_cases and all(c.team_id == member.team_id or c.owner_id == member.id for c in team_cases)
        post_cases, _ = seen("staff-ls-p01")
        assert post_cases and all(c.place.code == "H01" or c.service_point.code == "LS-P01" for c in post_cases)
        heating_cases, _ = seen("staff-ht-sqt")
        assert {c.place.code for c in heating_cases} <= {"E01", "E02", "E03", "E04"}
        admin = db.session.scalars(sa.select(User).filter_by(role=Role.ADMIN)).first()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(access.case_scope(admin))) \
            == everything
