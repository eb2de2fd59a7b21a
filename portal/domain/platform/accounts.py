"""Signing in and out: password hashing, the login throttle, and ending sessions.

Passwords are hashed with Argon2id. Failed logins are counted in the database per client address,
so the throttle holds across every worker and server. Ending a user's sessions bumps their
``session_epoch``; every session cookie carries the epoch it was made in (``User.get_id``).
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import audit, unit
from portal.extensions import begin_mode, db
from portal.models import FailedLogin, User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# The most common passwords on Chinese and English lists; ASVS asks that they be refused.
COMMON_PASSWORDS = frozenset(
    """
    12345678 123456789 1234567890 11111111 88888888 66666666 00000000 12341234 87654321
    password password1 password123 passw0rd qwerty123 qwertyui 1qaz2wsx abc12345 abcd1234
    a1234567 a12345678 a123456789 iloveyou woaini1314 5201314520 admin123 admin1234 demo1234
    11223344 147258369 123123123 12344321 zxcvbnm123 aa123456 qq123456
    """.split()
)


class LoginRefused(DomainError):
    pass


class Throttled(DomainError):
    status = 429


def _hasher() -> PasswordHasher:
    return PasswordHasher(**current_app.config["ARGON2"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def password_problem(password: str, username: str = ""):
    """Return why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
    if password.lower() in COMMON_PASSWORDS or (username and username.lower() in password.lower()):
        return _l("This password is too easy to guess; choose another.")
    return None


def _verify(user: User | None, password: str) -> bool:
    hasher = _hasher()
    if user is None:
        # Spend the same time as for a real user, so that timing does not reveal usernames.
        try:
            hasher.verify(_dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    key = repr(current_app.config["ARGON2"])
    if key not in _DUMMY:
        _DUMMY[key] = _hasher().hash("not a real password")
    return _DUMMY[key]


LOGIN_LOCK = 5502  # the first key of the advisory locks that queue one account's (or address's) attempts


def _attempt(username: str, address: str) -> int:
    """Count a password check before it is made: the attempt is written and committed on its own first,
    so that of many parallel guesses each sees the ones committed before it, and no more than the limit
    are ever checked. Refused when the account, or the address, has failed too often lately. Returns the
    attempt's row, which a right password removes again."""
    config = current_app.config
    attempt = FailedLogin(address=address[:64], username=username[:80].lower())

    def count() -> tuple[int, int]:  # a transaction of its own, with SQLite's write lock: counted one by one
        if db.session.get_bind().dialect.name == "postgresql":
            # The account's and the address's attempts queue on these locks (in one order, so two never
            # wait on each other): each counts every attempt committed before it, and no burst slips past.
            for key in sorted({f"account:{attempt.username}", f"address:{attempt.address}"}):
                db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOGIN_LOCK, sa.func.hashtext(key))))
        now = clock.now()
        since = now - timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"])
        recent = sa.select(sa.func.count()).select_from(FailedLogin).where(FailedLogin.at >= since)
        counts = (db.session.scalar(recent.where(FailedLogin.username == attempt.username)) + 1,
                  db.session.scalar(recent.where(FailedLogin.address == attempt.address)) + 1)
        attempt.at = now
        db.session.add(attempt)
        return counts

    by_account, by_address = unit.alone(count)
    if by_account > config["LOGIN_THROTTLE_ATTEMPTS"] or by_address > config["LOGIN_THROTTLE_ADDRESS_ATTEMPTS"]:
        unit.alone(lambda: audit.record("login_throttled", actor_name=username[:80], reason=address))
        raise Throttled(_l("Too many failed sign-ins for this account or from this computer. Wait %(minutes)d "
                           "minutes and try again, or ask an administrator.", minutes=config["LOGIN_THROTTLE_MINUTES"]),
                        field="password")
    return attempt.id


def _forgive(attempt_id: int) -> None:
    """A right password: the attempt does not count against the account or the address."""
    db.session.execute(sa.delete(FailedLogin).where(FailedLogin.id == attempt_id))


def authenticate(username: str, password: str, address: str) -> User:
    """Return the user for these credentials, or raise ``LoginRefused`` or ``Throttled``.

    Failed attempts are counted per account and per address (``LOGIN_THROTTLE_ATTEMPTS`` for an account,
    ``LOGIN_THROTTLE_ADDRESS_ATTEMPTS`` for an address, which a whole station behind one NAT shares), before
    the password is checked. A success or a failure is audited and committed either way.
    """
    attempt = _attempt(username, address)
    with begin_mode("DEFERRED"):  # a read: the slow hash below runs without SQLite's write lock
        user = db.session.scalar(sa.select(User).where(User.username == username))
        password_ok = _verify(user, password)
        unit.end_read()  # what follows writes in a transaction of its own
    if not password_ok or not user.active:
        unit.alone(lambda: audit.record("login_failed", actor_name=username[:80], object_type="users",
                                        object_id=user.id if user else ""))
        if password_ok:
            raise LoginRefused(_l("This account has been deactivated. Ask an administrator."), field="username")
        raise LoginRefused(_l("Wrong username or password."), field="password")
    _forgive(attempt)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    audit.record("login", actor=user, obj=user)
    unit.end_step()
    return user


def end_sessions(user: User, actor: User, reason: str) -> None:
    """End every session of ``user`` (the caller commits)."""
    user.session_epoch = User.session_epoch + 1
    audit.record("end_sessions", actor=actor, obj=user, reason=reason)


def logout(user: User) -> None:
    """Sign out everywhere: logging out also ends the user's sessions on other devices."""
    end_sessions(user, user, "logout")
    unit.end_step()


def change_password(user: User, current: str, new: str, address: str = "") -> None:
    """Change the user's own password; ends their other sessions. The current password is checked as a
    sign-in is: counted, throttled and audited, so a session left open cannot be used to guess it."""
    try:
        attempt = _attempt(user.username, address)
    except Throttled as throttled:
        throttled.field = "current"
        raise
    if not _verify(user, current):
        unit.lasting(lambda: audit.record("password_check_failed", actor=user, obj=user))
        raise DomainError(_l("The current password is wrong."), field="current")
    _forgive(attempt)
    problem = password_problem(new, user.username)
    if problem:
        raise DomainError(problem, field="new")
    user.password_hash = hash_password(new)
    audit.record("change_password", actor=user, obj=user, changes={"password": ("***", "***")})
    end_sessions(user, user, "password changed")
    unit.end_step()
