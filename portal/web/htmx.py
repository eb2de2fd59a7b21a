"""Answering htmx and plain requests from the same routes.

A page template names its swappable regions as blocks; an htmx request gets the block alone, a
plain request (or a pushed URL opened fresh) gets the full page.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render(template: str, block: str | None = None, status: int = 200, **context) -> Response:
    """Render ``block`` of ``template`` for htmx requests that target it, else the whole page."""
    if block and is_htmx():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def redirect_to(location: str) -> Response:
    """Redirect after a successful POST: 303 for a browser, HX-Location for htmx."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Location"] = location
        return response
    return redirect(location, code=303)


def safe_next(target: str | None) -> str | None:
    """Return ``target`` when it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
