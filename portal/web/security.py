"""Security headers on every response.

The Content-Security-Policy allows no inline script or style and no eval: htmx is configured by a
meta tag and its indicator styles ship in our stylesheet (templates/base.html, static/portal.css).
"""
from __future__ import annotations

from flask import Flask, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure or app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static":
            headers.add("Vary", "HX-Request")
            # Pages of a signed-in user carry personal data: never keep them in any cache.
            if current_user.is_authenticated and "Cache-Control" not in headers:
                headers["Cache-Control"] = "no-store"
        return response
