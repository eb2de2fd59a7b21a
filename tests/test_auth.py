"""Signing in and out: the login form, throttling, sessions that end, password changes."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import AuditEntry, FailedLogin, Role, User


def test_login_page_is_chinese_with_named_fields(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert 'name="username"' in html and 'name="password"' in html


def test_the_address_people_type_leads_to_the_sign_in_page(client):
    response = client.get("/login?next=/cases/")
    assert response.status_code == 301 and response.headers["Location"] == "/auth/login?next=/cases/"
    odd = client.get("/login?_external=1&_scheme=javascript&next=//evil.example")
    assert odd.status_code == 301 and odd.headers["Location"] == "/auth/login"


def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_staff_signs_in_and_reaches_home(client, auth, make):
    make.user(Role.STAFF, username="wang", display_name="王芳")
    response = auth.login("wang")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert "王芳，您好" in home.get_data(as_text=True)


def test_wrong_password_is_explained_next_to_the_field_and_changes_nothing(client, auth, make, app):
    make.user(Role.STAFF, username="wang")
    response = auth.login("wang", "not-the-password")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="password-error">用户名或密码错误。' in html
    assert client.get("/").status_code == 302  # still signed out
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FailedLogin)) == 1
        assert db.session.scalar(sa.select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "login_failed"


def test_unknown_username_gets_the_same_message(auth):
    html = auth.login("nobody", "whatever-123").get_data(as_text=True)
    assert "用户名或密码错误。" in html


@pytest.mark.parametrize(
    ("username", "password", "field", "message"),
    [("", "x", "username", "请填写用户名。"), ("wang", "", "password", "请填写密码。")],
)
def test_empty_fields_get_a_message_next_to_them(auth, username, password, field, message):
    html = auth.login(username, password).get_data(as_text=True)
    assert f'id="{field}-error">{message}' in html


def test_ten_failures_on_one_account_throttle_the_eleventh_even_with_the_right_password(client, auth, make):
    make.user(Role.STAFF, username="wang")
    for _ in range(10):
        auth.login("wang", "wrong-password")
    response = auth.login("wang")
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_one_persons_typos_do_not_lock_out_a_colleague_behind_the_same_address(app, auth, make):
    """A whole station reaches the portal through one NAT address."""
    make.user(Role.STAFF, username="wang")
    make.user(Role.STAFF, username="li")
    for _ in range(12):
        auth.login("wang", "wrong-password")
    assert auth.login("wang").status_code == 429
    colleague = app.test_client()
    assert colleague.post("/auth/login", data={"username": "li", "password": "correct-horse-7"}).status_code == 303


def test_spraying_many_accounts_from_one_address_is_throttled(app, auth, make):
    make.user(Role.STAFF, username="wang")
    for n in range(50):
        auth.login(f"user{n}", "Password1")
    assert auth.login("wang").status_code == 429
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "login_throttled"


def test_guessing_the_current_password_in_an_open_session_is_throttled_and_audited(client, auth, make, app):
    user = make.user(Role.STAFF, username="wang")
    auth.login("wang")
    for _ in range(10):
        response = client.post("/auth/password", data={"current": "guess-123456", "new": "a-new-secret-42",
                                                       "confirm": "a-new-secret-42"})
        assert 'id="current-error">当前密码不正确。' in response.get_data(as_text=True)
    response = client.post("/auth/password", data={"current": "correct-horse-7", "new": "a-new-secret-42",
                                                   "confirm": "a-new-secret-42"})
    assert response.status_code == 429 and 'id="current-error">该账号或本机登录失败次数过多' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == user.password_hash
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
        assert actions.count("password_check_failed") == 10 and "login_throttled" in actions


def test_throttle_counts_only_the_last_fifteen_minutes(app, auth, make):
    make.user(Role.STAFF, username="wang")
    with app.app_context():
        old = clock.now() - timedelta(minutes=16)
        db.session.add_all([FailedLogin(address="127.0.0.1", username="wang", at=old) for _ in range(10)])
        db.session.commit()
    assert auth.login("wang").status_code == 303


def test_deactivated_user_cannot_sign_in(auth, make):
    make.user(Role.STAFF, username="wang", active=False)
    html = auth.login("wang").get_data(as_text=True)
    assert "该账号已停用" in html


def test_logout_ends_the_users_other_sessions(app, make):
    make.user(Role.STAFF, username="wang")
    office, phone = app.test_client(), app.test_client()
    for c in (office, phone):
        c.post("/auth/login", data={"username": "wang", "password": "correct-horse-7"})
        assert c.get("/").status_code == 200
    office.post("/auth/logout")
    assert office.get("/").status_code == 302
    assert phone.get("/").status_code == 302


def test_session_expires_after_thirty_idle_minutes(client, auth, make, monkeypatch):
    make.user(Role.STAFF, username="wang")
    auth.login("wang")
    later = clock.now() + timedelta(minutes=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_session_ends_after_twelve_hours_even_when_active(client, auth, make, monkeypatch):
    make.user(Role.STAFF, username="wang")
    auth.login("wang")
    start = clock.now()
    for minutes in range(20, 12 * 60, 20):  # busy all day, never idle for long
        monkeypatch.setattr(clock, "now", lambda m=minutes: start + timedelta(minutes=m))
        assert client.get("/").status_code == 200
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=12, minutes=5))
    assert client.get("/").status_code == 302


def test_change_password_keeps_this_session_and_ends_the_others(app, make):
    make.user(Role.STAFF, username="wang")
    office, phone = app.test_client(), app.test_client()
    for c in (office, phone):
        c.post("/auth/login", data={"username": "wang", "password": "correct-horse-7"})
    response = office.post("/auth/password", data={"current": "correct-horse-7", "new": "a-new-secret-42",
                                                  "confirm": "a-new-secret-42"})
    assert response.status_code == 303
    assert office.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert office.post("/auth/logout").status_code == 303
    login = office.post("/auth/login", data={"username": "wang", "password": "a-new-secret-42"})
    assert login.status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    [
        ("wrong-one-1", "a-new-secret-42", "a-new-secret-42", "current", "当前密码不正确。"),
        ("correct-horse-7", "short", "short", "new", "至少 8 个字符。"),
        ("correct-horse-7", "12345678", "12345678", "new", "密码过于简单"),
        ("correct-horse-7", "a-new-secret-42", "another-secret-42", "confirm", "两次填写的新密码不一致。"),
    ],
)
def test_bad_password_change_is_refused_next_to_the_field(client, auth, make, app, current, new, confirm, field, message):
    user = make.user(Role.STAFF, username="wang")
    auth.login("wang")
    response = client.post("/auth/password", data={"current": current, "new": new, "confirm": confirm})
    html = response.get_data(as_text=True)
    assert f'id="{field}-error">{message}' in html
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == user.password_hash


def test_open_redirect_after_login_is_ignored(client, make):
    make.user(Role.STAFF, username="wang")
    response = client.post("/auth/login?next=//evil.example.com/", data={"username": "wang", "password": "correct-horse-7"})
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite_lax(client, auth, make):
    make.user(Role.STAFF, username="wang")
    response = auth.login("wang")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_switching_to_english(client, auth, make):
    make.user(Role.STAFF, username="wang")
    auth.login("wang")
    response = client.post("/language", data={"lang": "en", "next": "/"})
    assert response.status_code == 303
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Sign out" in html
