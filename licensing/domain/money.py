"""Money and calendar arithmetic: Decimal CNY with 2 places, calendar-correct months.

One rounding rule for money everywhere: half up to the fen (ROUND_HALF_UP), as Chinese
accounting rounds (四舍五入). A split of an amount into parts adds up to it exactly and is as even
as the fen allows: each part is rounded down, and the fen left over go one each to the parts
that lost the most in rounding (largest remainder); ties go to the later parts, so
100,000.00 in 3 = 33,333.33 + 33,333.33 + 33,333.34.
"""

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cny(value: Decimal | int | str) -> Decimal:
    """An amount rounded half up to the fen."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def split_proportionally(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` (to the fen) in proportion to `weights`, exactly, by largest remainder."""
    weight_sum = sum(weights)
    if not weights or weight_sum <= 0:
        raise ValueError("weights must be positive")
    exact = [total * w / weight_sum for w in weights]
    shares = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left_over = int((total - sum(shares)) / CENT)
    # Largest remainder first; among equal remainders, the later part first.
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], i), reverse=True)
    for i in order[:left_over]:
        shares[i] += CENT
    return shares


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split `total` into `parts` equal shares that add up to it exactly."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    return split_proportionally(total, [Decimal(1)] * parts)


def add_months(start: date, months: int) -> date:
    """Calendar months: Jan 31 + 1 month = the last day of February."""
    return start + relativedelta(months=months)
