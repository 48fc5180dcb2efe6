"""Valid Chinese identifiers for demo books and tests."""

from stdnum.cn import uscc

from ..domain.identifiers import patent_check_digit


def make_uscc(serial: int, division: str = "110108") -> str:
    """A Unified Social Credit Code with correct check characters (enterprise, given division)."""
    body = f"91{division}{serial:09d}"[:17]
    return body + uscc.calc_check_digit(body)


def make_patent_number(year: int, serial: int, type_digit: str = "1") -> str:
    digits = f"{year}{type_digit}{serial:07d}"
    return f"{digits}.{patent_check_digit(digits)}"
