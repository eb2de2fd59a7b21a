"""Masking of personal data (PIPL): phones, ID numbers and names as lists and printouts show them."""
from __future__ import annotations

import re

_DIGITS = re.compile(r"\D")


def normalise_phone(raw: str | None) -> str:
    """Return the digits of a phone number ("138 1234-5678" -> "13812345678")."""
    return _DIGITS.sub("", raw or "")


MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{9,11}$")


def is_valid_phone(digits: str) -> bool:
    """A mainland mobile number, or a landline with its area code."""
    return bool(MOBILE.match(digits) or LANDLINE.match(digits))


def mask_phone(phone: str | None) -> str:
    """138****1234; short numbers keep only their last two digits."""
    if not phone:
        return ""
    if len(phone) >= 11:
        return phone[:3] + "****" + phone[-4:]
    if len(phone) > 4:
        return "*" * (len(phone) - 4) + phone[-4:]
    return "*" * len(phone)


def mask_id_number(id_number: str | None) -> str:
    """370211********1234: the region code and the last four digits."""
    if not id_number:
        return ""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_name(name: str | None) -> str:
    """张* or 欧阳**: the family name's first character and a star for each other one."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_address(address: str | None) -> str:
    """东岙** : the first two characters (the hamlet or the road) and a star for the rest."""
    if not address:
        return ""
    return address[:2] + "*" * min(max(len(address) - 2, 1), 6)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def is_valid_id_number(id_number: str) -> bool:
    """Check an 18-digit resident ID number (GB 11643) by its check digit."""
    if not re.fullmatch(r"\d{17}[\dX]", id_number or ""):
        return False
    total = sum(int(d) * w for d, w in zip(id_number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == id_number[17]


def id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def mask_text(text: str) -> str:
    """Free text with the ID numbers and mobile numbers in it masked (for pages anyone may see)."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
