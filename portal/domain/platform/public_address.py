"""The one address the public reaches the portal at: the ``PUBLIC_BASE_URL`` setting.

Residents' SMS links, the QR codes of convenience cards and receipt slips, wall screens' addresses, a team's
calendar feed and the Open311 discovery document all name it. It is a setting, never the address of the request
at hand: a request's ``Host`` (or ``X-Forwarded-Host``) is whatever its sender wrote, and a link built from it
would let anyone put their own site into an SMS sent from the official number. The hosts the portal answers for
(Flask's ``TRUSTED_HOSTS``) are this address's host, localhost and the names ``TRUSTED_HOSTS`` adds, so a request
naming a foreign host is refused (400) before any page sees it.

Unset, it has no stand-in that looks valid: no message with a link is written (a resident's answer falls back
to the clerk's callback, a booking to the post's call), a printed slip carries no address, cards are not printed,
and the administrators' messages page says why.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

LOOPBACK = ("localhost", "127.0.0.1")


def validate(value: str) -> str:
    """The setting as it will be used (no trailing slash), or ValueError saying what is wrong with it."""
    value = (value or "").strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ValueError(f"PUBLIC_BASE_URL must be an http(s) address such as https://bianmin.example.gov.cn "
                         f"(a path is allowed; no query, no user), not {value!r}")
    return value


def trusted_hosts(base: str, more: list[str] | None = None) -> list[str] | None:
    """The hosts a request may name: the public address's, localhost, and ``more`` (the names office PCs use on
    the intranet); None (any) while neither a public address nor another name is set."""
    host = urlsplit(base).hostname if base else None
    names = [*([host, *LOOPBACK] if host else []), *(more or [])]
    return list(dict.fromkeys(names)) or None


def base() -> str | None:
    """``https://bianmin.example.gov.cn`` (as configured, without a trailing slash), or None when unset."""
    return current_app.config["PUBLIC_BASE_URL"] or None


def url(endpoint: str, **values) -> str | None:
    """The public address of a page, or None while no public address is configured."""
    root = base()
    if root is None:
        return None
    return root + current_app.url_map.bind("public").build(endpoint, values)
