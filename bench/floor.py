"""The bare Flask floor of `make bench`: what a signed-in page of any small Flask app costs on this machine, run
beside the portal in the same run so that the portal's figures are read against it, not against a machine that is
shared and noisy.

It has what every page of the portal must have and nothing else: Flask-Login's signed session cookie, the user
loaded by id, one indexed query (the newest 50 cases) and a 50-row template. It reads the database of the run
(``DATABASE_URL``). Served by ``gunicorn --pythonpath bench floor:app``.
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, redirect, render_template_string, request
from flask_login import LoginManager, UserMixin, login_required, login_user

app = Flask(__name__)
app.secret_key = os.environ.get("PORTAL_SECRET_KEY", "bench-floor")
engine = sa.create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
login = LoginManager(app)

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>工单</title></head><body>
<p>{{ user.name }}</p><table>
{% for row in rows %}<tr><td>{{ row.number }}</td><td>{{ row.status }}</td><td>{{ row.created_at }}</td></tr>
{% endfor %}</table></body></html>"""


class User(UserMixin):
    def __init__(self, id_: int, name: str):
        self.id, self.name = id_, name


@login.user_loader
def load_user(user_id: str) -> User | None:
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT id, display_name FROM users WHERE id = :id"),
                                 {"id": int(user_id)}).first()
    return User(row.id, row.display_name) if row else None


@app.post("/login")
def sign_in():
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT id, display_name FROM users WHERE username = :name"),
                                 {"name": request.form["username"]}).first()
    login_user(User(row.id, row.display_name))
    return redirect("/", 303)


@app.get("/")
@login_required
def page():
    from flask_login import current_user

    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT number, status, created_at FROM cases ORDER BY id DESC LIMIT 50")).all()
    return render_template_string(PAGE, rows=rows, user=current_user)
