"""Chinese identifiers: patent application numbers (CNIPA) and Unified Social Credit Codes.

Each validator returns the normalised form or raises ValidationError with a translated message.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from .numbers import typed

# The type digit of an application number: 5th digit of the 12-digit form (since 2003),
# 3rd digit of the older 8-digit form. 8 and 9 are PCT applications entering China.
PATENT_TYPE_BY_DIGIT = {
    "1": "invention",
    "8": "invention",
    "2": "utility_model",
    "9": "utility_model",
    "3": "design",
}

_WEIGHTS_12 = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_WEIGHTS_8 = (2, 3, 4, 5, 6, 7, 8, 9)


def patent_check_digit(digits: str) -> str:
    weights = _WEIGHTS_12 if len(digits) == 12 else _WEIGHTS_8
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_patent_number(value: str) -> str:
    """Accept 'ZL 2017 1 0601862.3', 'CN201710601862.3', '2017106018623' and return
    '201710601862.3' (or '93100001.X' for the 8-digit form)."""
    compact = re.sub(r"[\s.\-]", "", typed(value or "").upper())  # full-width digits typed in Chinese: ASCII
    compact = re.sub(r"^(ZL|CN)", "", compact)
    match = re.fullmatch(r"([0-9]{12}|[0-9]{8})([0-9X])", compact)  # [0-9]: \d reads every script's digits
    if not match:
        raise ValidationError(
            _("Enter a CN patent application number such as ZL 2017 1 0601862.3."),
            code="format",
        )
    digits, check = match.groups()
    if patent_check_digit(digits) != check:
        raise ValidationError(
            _("The check digit of patent number %(number)s is wrong."),
            code="check_digit",
            params={"number": value},
        )
    type_digit = digits[4] if len(digits) == 12 else digits[2]
    if type_digit not in PATENT_TYPE_BY_DIGIT:
        raise ValidationError(
            _("Patent number %(number)s has an unknown type digit."),
            code="type_digit",
            params={"number": value},
        )
    return f"{digits}.{check}"


def patent_type_of(number: str) -> str:
    digits = number.split(".")[0]
    return PATENT_TYPE_BY_DIGIT[digits[4] if len(digits) == 12 else digits[2]]


def normalize_uscc(value: str) -> str:
    """Validate a Unified Social Credit Code (GB 32100-2015, with its check character)."""
    try:
        return uscc.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("%(code)s is not a valid Unified Social Credit Code."),
            code="uscc",
            params={"code": value},
        ) from exc
