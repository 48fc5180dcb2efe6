"""Running royalties (提成, Civil Code Art. 846): a rate on a base (net sales or profit), flat or in
tiers on the cumulative base of the license year, rising or falling, with an optional minimum per
license year and an optional cap. Pure arithmetic on Decimal: no database, no clock."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .money import ZERO, cny

ONE = Decimal(1)


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
