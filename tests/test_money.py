import datetime as dt
from decimal import Decimal

import pytest

from licensing.domain.money import add_months, split_evenly, split_proportionally


def test_split_evenly_sums_exactly_and_the_last_part_takes_the_remainder():
    assert split_evenly(Decimal("100000.00"), 3) == [Decimal("33333.33"), Decimal("33333.33"), Decimal("33333.34")]


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 11, 12, 36, 120])
@pytest.mark.parametrize("total", ["0.01", "1.00", "99999.99", "123456.78", "1000000.01"])
def test_split_evenly_always_sums_to_the_total(total, parts):
    shares = split_evenly(Decimal(total), parts)
    assert sum(shares) == Decimal(total)
    assert all(s.as_tuple().exponent == -2 for s in shares)


def test_split_proportionally_sums_exactly():
    shares = split_proportionally(Decimal("10000.00"), [Decimal("33333.33"), Decimal("33333.33"), Decimal("33333.34")])
    assert sum(shares) == Decimal("10000.00")
    assert shares == [Decimal("3333.33"), Decimal("3333.33"), Decimal("3333.34")]


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2028-01-31", 1, "2028-02-29"),
        ("2026-03-31", 1, "2026-04-30"),
        ("2026-01-15", 1, "2026-02-15"),
        ("2026-08-31", 6, "2027-02-28"),
        ("2026-05-20", 12, "2027-05-20"),
    ],
)
def test_months_are_calendar_months(start, months, end):
    assert add_months(dt.date.fromisoformat(start), months) == dt.date.fromisoformat(end)
