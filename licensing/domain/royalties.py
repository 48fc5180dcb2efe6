"""Running royalties (提成, Civil Code Art. 846): a rate on a base (net sales or profit), flat or in
tiers on the cumulative base of the license year, rising or falling, with an optional minimum per
license year and an optional cap. Pure arithmetic on Decimal: no database, no clock."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .money import ZERO, cny
from .numbers import money_text, percent, typed

ONE = Decimal(1)
MAX_BASE = Decimal("1000000000000.00")  # a period's base above a trillion CNY is a typing mistake


@dataclass(frozen=True)
class Tier:
    """`rate` applies to the part of the license year's cumulative base up to `up_to` (None: no
    upper bound). Tiers are listed in ascending order of their bounds."""

    up_to: Decimal | None
    rate: Decimal


def check_tiers(tiers: Sequence[Tier]) -> None:
    """Tiers in ascending order, each rate between 0 and 1, the last one open-ended."""
    if not tiers:
        raise ValidationError(_("A royalty needs at least one rate."))
    previous = ZERO
    for n, tier in enumerate(tiers, start=1):
        if not ZERO <= tier.rate <= ONE:
            raise ValidationError(_("Rate %(n)s must be between 0 and 1 (100%%).") % {"n": n})
        last = n == len(tiers)
        if last and tier.up_to is not None:
            raise ValidationError(_("The last tier has no upper bound."))
        if not last and (tier.up_to is None or tier.up_to <= previous):
            raise ValidationError(_("Tier bounds must rise: tier %(n)s ends above the one before.") % {"n": n})
        previous = tier.up_to if tier.up_to is not None else previous


def royalty_on(base: Decimal, tiers: Sequence[Tier], *, earlier: Decimal = ZERO) -> Decimal:
    """The royalty, to the fen, on `base` reported in a period when `earlier` of the same license
    year was reported before it: each part of the base takes the rate of the tier the license
    year's cumulative base has reached. The parts are summed exactly and rounded once, half up."""
    if base < ZERO or earlier < ZERO:
        raise ValidationError(_("A royalty base cannot be negative."))
    check_tiers(tiers)
    start, end = earlier, earlier + base
    total = ZERO
    lower = ZERO
    for tier in tiers:
        upper = tier.up_to
        portion_start = max(start, lower)
        portion_end = end if upper is None else min(end, upper)
        if portion_end > portion_start:
            total += (portion_end - portion_start) * tier.rate
        if upper is None or end <= upper:
            break
        lower = upper
    return cny(total)


def capped(royalty: Decimal, *, cap: Decimal | None, already: Decimal = ZERO) -> Decimal:
    """The royalty after a cap (per license year, or in total) of which `already` is used."""
    if cap is None:
        return royalty
    return max(ZERO, min(royalty, cap - already))


def minimum_shortfall(minimum: Decimal | None, accepted: Decimal) -> Decimal:
    """What falls due after the license year when its accepted royalties stay under the minimum."""
    if not minimum:
        return ZERO
    return max(ZERO, cny(minimum - accepted))


# -- the rates as the terms write them ------------------------------------------------------------

# ASCII digits only ([0-9], not \d, which matches every script's digits); full-width ones are
# converted first (numbers.typed), as for every typed number. An amount may carry 万 (10^4) or
# 亿 (10^8) and 元, as Chinese contracts write it.
_RATE = r"([0-9]{1,3}(?:\.[0-9]{1,4})?)\s*%"
_AMOUNT = r"([0-9][0-9,]*(?:\.[0-9]{1,2})?)\s*(万|亿)?\s*元?"
_TIER_FORMS = [
    # "3% up to 10,000,000", "3% 至 10000000", "3%，1000万以内", "5%"
    re.compile(
        rf"^{_RATE}\s*[,，]?\s*(?:(?:up to|to|≤|<=|至)\s*{_AMOUNT}|{_AMOUNT}\s*(?:以内|以下|及以下))?$", re.I | re.ASCII
    ),
    # "1000万元以内3%", "不超过1000万元的部分3%"
    re.compile(rf"^(?:不超过)?\s*{_AMOUNT}\s*(?:以内|以下|及以下|的部分)\s*(?:的部分)?\s*[:：]?\s*{_RATE}$", re.ASCII),
    # "以上2%", "超过部分2%", "above: 2%"
    re.compile(rf"^(?:以上|超过部分|超出部分|其余|above|over)\s*[:：]?\s*{_RATE}$", re.I | re.ASCII),
]
_UNITS = {None: Decimal(1), "万": Decimal(10_000), "亿": Decimal(100_000_000)}


def _amount(digits: str, unit: str | None) -> Decimal:
    return Decimal(digits.replace(",", "")) * _UNITS[unit]


def _tier(part: str) -> Tier | None:
    """One tier as typed in English or Chinese, or None when it is in neither form."""
    rate_first, bound_first, open_ended = (form.match(part) for form in _TIER_FORMS)
    if rate_first:
        rate, up_to, up_to_unit, within, within_unit = rate_first.groups()
        bound = _amount(up_to, up_to_unit) if up_to else _amount(within, within_unit) if within else None
        return Tier(bound, Decimal(rate) / 100)
    if bound_first:
        digits, unit, rate = bound_first.groups()
        return Tier(_amount(digits, unit), Decimal(rate) / 100)
    if open_ended:
        return Tier(None, Decimal(open_ended.group(1)) / 100)
    return None


def _parts(text: str) -> list[str]:
    """The tiers of the rates: separated by ";" or new lines, or, when there are none of those,
    by the comma that separates clauses ("1000万元以内3%，以上2%"; `typed` has made "，" and "；"
    ASCII): a comma not between two digits, which would group thousands."""
    parts = [p.strip() for p in re.split(r"[;\n]", text) if p.strip()]
    if len(parts) == 1 and _tier(parts[0]) is None:
        parts = [p.strip() for p in re.split(r"(?<![0-9]),|,(?![0-9])", parts[0]) if p.strip()]
    return parts


def parse_tiers(text: str) -> list[Tier]:
    """Rates as staff type them, in English or Chinese: "3% up to 10,000,000; 2%",
    "3%，1000万以内；2%", "1000万元以内3%，以上2%" (3% on the license year's base up to 10M, 2%
    above), or one flat rate "5%"."""
    tiers = []
    for part in _parts(typed(text or "")):
        tier = _tier(part)
        if tier is None:
            raise ValidationError(
                _('Write the rates as "%(example)s" or "%(zh)s": a percentage, then the bound it applies up to.')
                % {"example": "3% up to 10,000,000; 2%", "zh": "1000万元以内3%，以上2%"}
            )
        tiers.append(tier)
    check_tiers(tiers)
    return tiers


def format_tiers(tiers: Sequence[Tier]) -> str:
    """The rates written back in the one form parse_tiers reads, as they are stored: full-width
    digits and stray spaces typed with a Chinese input method come back as "3% up to 10,000,000; 2%"."""
    return "; ".join(
        f"{(t.rate * 100).normalize():f}%" + (f" up to {t.up_to:,}" if t.up_to is not None else "") for t in tiers
    )


def describe_tiers(tiers: Sequence[Tier]) -> str:
    """The rates in words, in the reader's language."""
    if len(tiers) == 1:
        return percent(tiers[0].rate)  # the pages say what it is a rate of ("2%, on net sales")
    parts = [
        _("%(rate)s up to %(bound)s") % {"rate": percent(t.rate), "bound": money_text(t.up_to)}
        if t.up_to is not None
        else _("%(rate)s above") % {"rate": percent(t.rate)}
        for t in tiers
    ]
    return _("; ").join(parts) + _(" (of the license year's cumulative base)")


# -- reporting periods ----------------------------------------------------------------------------

# A license year is the calendar year (年度): the first one runs from the purchase, the last one to
# the end of the term. Periods are calendar quarters, half-years or years within it.
PERIOD_MONTHS = {"quarter": 3, "half_year": 6, "year": 12}
MAX_PERIODS = 200  # 50 years of quarters: more is a typing mistake in the term


def periods(start: date, end: date, months: int) -> list[tuple[date, date]]:
    """The calendar periods of `months` months covering start..end (both inclusive), the first and
    last cut to them: 2026-03-01..2026-12-31 in quarters gives Mar 1-Mar 31, Q2, Q3, Q4."""
    if months not in PERIOD_MONTHS.values():
        raise ValueError("a reporting period is 3, 6 or 12 months")
    result: list[tuple[date, date]] = []
    first_month = (start.month - 1) // months * months + 1
    period_start = date(start.year, first_month, 1)
    while period_start <= end and len(result) < MAX_PERIODS:
        next_start = period_start + relativedelta(months=months)
        result.append((max(period_start, start), min(next_start - timedelta(days=1), end)))
        period_start = next_start
    return result


def prorated(amount: Decimal, start: date, end: date) -> Decimal:
    """An annual amount (a minimum royalty) for the part start..end of one calendar year, by days."""
    days_in_year = (date(start.year + 1, 1, 1) - date(start.year, 1, 1)).days
    return cny(amount * Decimal((end - start).days + 1) / days_in_year)
