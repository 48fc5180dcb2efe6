"""Money and calendar arithmetic: Decimal CNY with 2 places, calendar-correct months."""

from datetime import date
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cny(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split total into parts that sum to it exactly; the last part takes the remainder
    (100,000.00 in 3 = 33,333.33 + 33,333.33 + 33,333.34)."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    share = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def split_proportionally(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split total in proportion to weights, exactly; the largest weight takes the rounding."""
    weight_sum = sum(weights)
    shares = [(total * w / weight_sum).quantize(CENT, rounding=ROUND_DOWN) for w in weights]
    shares[weights.index(max(weights))] += total - sum(shares)
    return shares


def add_months(start: date, months: int) -> date:
    """Calendar months: Jan 31 + 1 month = the last day of February."""
    return start + relativedelta(months=months)
