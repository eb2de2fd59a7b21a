"""Masking of personal data (PIPL): phones, ID numbers and names as lists and printouts show them; and the one
form a phone number is stored and compared in (`normalise_phone`)."""
from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

# Numbers without a country code are China's; a number abroad is written with + (or 00) and its country code.
REGION = "CN"
CHINA = 86
# What a resident can be called back at: a mobile, or a landline with its area code (not 400/800 hotlines,
# short service numbers such as 95588, or the like).
_RESIDENT_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_NOT_DIGITS = re.compile(r"[^0-9]")
_LONGEST = 20  # more digits than any number with its international prefix: not parsed at all


def _typed(raw: str | None) -> tuple[str, str]:
    """The digits typed (full-width ones as plain ones), and "+" when the number was written with one."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    return ("+" if text.startswith("+") else ""), _NOT_DIGITS.sub("", text)


def _parse(raw: str | None) -> PhoneNumber | None:
    """The number written in ``raw`` if it is a valid one (by the numbering plans of ``phonenumbers``)."""
    plus, digits = _typed(raw)
    if not digits or len(digits) > _LONGEST:
        return None
    try:
        number = phonenumbers.parse(plus + digits, REGION)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


# Parsing a number by its numbering plan is the dearest step of a case logged (the form, the case, the receipt
# and its opt-out each ask again): pure functions of the text, so kept for the numbers seen lately.
@functools.lru_cache(maxsize=4096)
def normalise_phone(raw: str | None) -> str:
    """The one form a phone number is stored and compared in, however it was typed.

    A number in China: its digits as dialled inside China, a landline with its trunk 0 and area code
    ("+86 139 3524 9848", "8613935249848", "139-3524-9848" -> "13935249848"; "+86 532 8612 3456",
    "0532-8612-3456" -> "053286123456"). A number abroad, written with + or 00: E.164 ("+852 9123 4567" ->
    "+85291234567"). Anything that is not a valid number: the digits typed (and the + before them), for
    validation to refuse; a search to match as the start or end of numbers."""
    number = _parse(raw)
    if number is None:
        return "".join(_typed(raw))
    if number.country_code == CHINA:
        return _NOT_DIGITS.sub("", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=4096)
def is_valid_phone(value: str | None) -> bool:
    """A number a resident or a colleague can be called back at: a mainland mobile, a landline with its area
    code, or a valid number abroad written with its country code (+852 ..., a resident from Hong Kong or
    Korea may have no other). ``value`` may be canonical (``normalise_phone``) or as typed."""
    number = _parse(value)
    if number is None:
        return False
    return number.country_code != CHINA or phonenumbers.number_type(number) in _RESIDENT_TYPES


def mask_phone(phone: str | None) -> str:
    """138****1234 (053****3456, +85****4567); short numbers keep only their last four digits."""
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
