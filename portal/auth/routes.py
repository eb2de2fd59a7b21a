"""Routes of the auth area: login, logout, change password."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal import demo
from portal.auth import bp
from portal.auth.forms import ChangePasswordForm, LoginForm
from portal.auth.sessions import start_session
from portal.demo import DEMO_PASSWORD
from portal.domain.platform import accounts, unit
from portal.web.guards import allow_signed_in, me, public
from portal.web.htmx import safe_next
from portal.web.submit import submit


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    done = submit(form, lambda: accounts.authenticate(form.username.data.strip(), form.password.data,
                                                      request.remote_addr or ""), "password")
    if done.ok:
        start_session(done.value)
        return redirect(safe_next(request.args.get("next")) or url_for("main.home"), code=303)
    status = 429 if done.status == 429 else 200  # a wrong password is an answer, not an error of the request
    logins = demo.logins_from_database() if current_app.config["DEMO_MODE"] else []
    return render_template("auth/login.html", form=form, demo_logins=logins, demo_password=DEMO_PASSWORD), status


@bp.post("/logout")
@allow_signed_in
def logout():
    """Sign out here and on every other device."""
    unit.with_retries(lambda: accounts.logout(me()))
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/password", methods=["GET", "POST"])
@allow_signed_in
def change_password():
    """Change one's own password."""
    form = ChangePasswordForm()
    done = submit(form, lambda: accounts.change_password(me(), form.current.data, form.new.data,
                                                         request.remote_addr or ""), "current")
    if done.ok:
        start_session(me())
        flash(_("Your password has been changed. Other devices have been signed out."), "success")
        return redirect(url_for("main.home"), code=303)
    return render_template("auth/password.html", form=form), done.status
