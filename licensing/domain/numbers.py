"""How numbers read, in both languages: money as bank statements write it (1,200,000.00) and
ratios stored as fractions (coverage 0.8, a royalty rate 0.035) as percentages (80%, 3.5%); and
how numbers are typed: the one parser every amount, rate and count goes through."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# After NFKC (full-width digits and point typed with a Chinese input method become ASCII), a
# number is ASCII digits with at most one point: no sign, exponent, underscore or other script.
# The digits may be in thousands groups, as the app shows amounts ("50,000.00", copied from a page).
_WHOLE = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")
_NUMBER = re.compile(rf"(?:(?:{_WHOLE.pattern})(?:\.[0-9]*)?|\.[0-9]+)")
NOT_A_NUMBER = _(
    "Enter a number with the digits 0-9 and at most one decimal point, commas only between thousands "
    "(no sign, exponent or spaces)."
)
NOT_A_WHOLE_NUMBER = _(
    "Enter a whole number with the digits 0-9, commas only between thousands (no sign, decimal point or spaces)."
)
NEGATIVE = _("This number cannot be negative.")


def typed(text: str) -> str:
    """What was typed, as the app reads it: NFKC (１２３．５ -> 123.5), surrounding spaces dropped."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_number(value: object, *, whole: bool = False) -> Decimal:
    """The one reading of a typed amount, rate or count (Python's Decimal and int read any
    script's digits, underscores and exponents: '١٢٣', '1_000', '1e2', '0E+9999', '-0'). A
    Decimal or int given by code must be finite and not negative."""
    if isinstance(value, bool):
        raise ValidationError(NOT_A_NUMBER, code="invalid")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        if not number.is_finite() or number.is_signed() or (whole and number != number.to_integral_value()):
            raise ValidationError(NOT_A_WHOLE_NUMBER if whole else NOT_A_NUMBER, code="invalid")
        return number
    text = typed(str(value))
    if text.startswith("-") and (_WHOLE if whole else _NUMBER).fullmatch(text[1:]):
        raise ValidationError(NEGATIVE, code="negative")
    if not (_WHOLE if whole else _NUMBER).fullmatch(text):
        raise ValidationError(NOT_A_WHOLE_NUMBER if whole else NOT_A_NUMBER, code="invalid")
    return Decimal(text.replace(",", ""))


def money_text(value: Decimal | int | None) -> str:
    """An amount with thousands separators and 2 places; a dash for none."""
    return "—" if value is None else f"{Decimal(value):,.2f}"


def percent(fraction: Decimal | int | str | None) -> str:
    """A fraction as a percentage with no trailing zeros: 0.8 -> 80%, 0.0026 -> 0.26%."""
    if fraction is None or fraction == "":
        return "—"
    try:
        value = (Decimal(fraction) * 100).normalize()
    except (InvalidOperation, ValueError):  # what someone typed, shown back as typed
        return str(fraction)
    return f"{value:f}%"


def digit_groups(value: str | None) -> str:
    """A bank account number as people read it aloud and copy it: digits in groups of four
    ("0200 0045 0900 1234 567"); anything that is not only digits and spaces comes back as it is."""
    text = (value or "").strip()
    digits = "".join(text.split())
    if not digits.isascii() or not digits.isdigit():
        return text
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
