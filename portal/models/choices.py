"""Enumerations whose members carry a translatable label.

A member is stored by its lowercase value; ``member.label`` is what people read.
"""
from __future__ import annotations

import enum


class LabelledEnum(str, enum.Enum):
    """A string enum whose members are declared as ``NAME = "value", _l("Label")``."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label if label is not None else value
        return member

    def __str__(self) -> str:
        return self.value
