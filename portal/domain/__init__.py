"""The portal's behaviour, free of Flask requests and templates.

Service functions take plain values and the acting user, check what they must, change rows, write
the timeline and audit entries in the same transaction, and commit; or they raise a ``DomainError``
whose message the web layer shows in the user's language.
"""
from __future__ import annotations


class DomainError(Exception):
    """Something the user asked for cannot be done; ``message`` says why, translatable."""

    status = 400

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist, or the user may not know that it does."""

    status = 404


class Forbidden(DomainError):
    """The user may see the object but not do this to it."""

    status = 403


class Conflict(DomainError):
    """Someone else changed the object first; the message says who and what."""

    status = 409
