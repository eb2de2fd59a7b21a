"""Route-level access: every view declares who may call it, and undeclared views are refused.

``@allow(Role.STAFF, ...)`` or ``@allow_signed_in`` or ``@public`` marks a view; a request hook
enforces the mark before the view runs. A view with no mark answers 403 to everyone, so a route
added without a rule fails closed (and fails the route x role test in tests/). Which *objects* a
user may see or act on is decided by ``portal.domain.access``.
"""
from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask_login import current_user

from portal.domain.platform import audit
from portal.models import Role

ANYONE_SIGNED_IN = frozenset(Role)


def allow(*roles: Role):
    """Let signed-in users of these roles call the view."""
    allowed = frozenset(roles)

    def mark(view):
        view.allowed_roles = allowed
        return view

    return mark


allow_signed_in = allow(*ANYONE_SIGNED_IN)


def public(view):
    """Let anyone call the view, signed in or not (login page, public lookup, Open311)."""
    view.allowed_roles = None
    view.is_public = True
    return view


def me():
    """The signed-in user as a model object (not Flask-Login's proxy), to hand to the domain."""
    return current_user._get_current_object()


def rule_of(view) -> frozenset | None | str:
    """Return the roles a view allows, None for a public view, or "missing"."""
    if getattr(view, "is_public", False):
        return None
    return getattr(view, "allowed_roles", "missing")


def admits(roles: frozenset, user) -> bool:
    """The role-level gate of ``@allow`` and of the menus: whether ``user``'s role is among ``roles``."""
    return user.role in roles


def init_app(app: Flask) -> None:
    @app.before_request
    def check_route_rule():
        if request.endpoint is None:  # 404 or 405: let Flask answer
            return None
        view = current_app.view_functions[request.endpoint]
        if request.endpoint == "static":
            return None
        rule = rule_of(view)
        if rule is None:
            return None
        if rule == "missing":
            current_app.logger.error("route %s has no access rule; refused", request.endpoint)
            abort(403)
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not admits(rule, current_user):
            audit.record_alone("denied", actor=current_user._get_current_object(), object_type="route",
                               object_id=request.endpoint, reason=f"{request.method} {request.path}")
            abort(403)
        return None
