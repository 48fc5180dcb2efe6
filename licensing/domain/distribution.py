"""Revenue distribution (收益分配): how one amount of licence income is split, to the fen.

The Law on Promoting the Transformation of Scientific and Technological Achievements (Art. 45)
gives the people who made an achievement at least half of the net income of a licence, and at
least half of the shares of an equity deal, unless the institution's own approved rule says
otherwise. An institution's policy (models.DistributionPolicy) states what is deducted before
the net and how the net is split; this module applies it to one amount:

1. across the license's patents by their weights (equal by default);
2. for each patent: VAT (when the contract is not registered as a technology contract; the
   amount received includes it), other taxes and the TTO's service rate (both of the amount net
   of VAT), then the patent's costs not yet recovered (filing and annual fees the institution
   paid), leaving the net;
3. the net between the inventor team, the college, the TTO and the institution;
4. the inventor team's part among the patent's inventors by their shares, and the college's part
   among their colleges by the same shares.

Every split is by largest remainder (money.split_proportionally), so the lines add up exactly to
the amount. Deductions are rounded half up to the fen, each once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .money import ZERO, cny, split_proportionally

# The parties a line of the ledger goes to: what is deducted, then who shares the net.
VAT, TAX, SERVICE, COSTS = "vat", "tax", "service", "costs"
INVENTOR, COLLEGE, TTO, INSTITUTION = "inventor", "college", "tto", "institution"
DEDUCTIONS = (VAT, TAX, SERVICE, COSTS)
NET_PARTIES = (INVENTOR, COLLEGE, TTO, INSTITUTION)

LEGAL_FLOOR = Decimal("0.5")  # Art. 45: half of the net income, half of the shares


@dataclass(frozen=True)
class Split:
    """What a policy says, as fractions: deductions, then the net's four parts (adding up to 1)."""

    vat_rate: Decimal | None  # None: exempt (a registered technology contract)
    tax_rate: Decimal
    service_rate: Decimal
    deduct_costs: bool
    inventors: Decimal
    college: Decimal
    tto: Decimal
    institution: Decimal


@dataclass(frozen=True)
class InventorPart:
    inventor: int
    college: str
    share: Decimal  # fraction of the patent's inventor team; a patent's shares add up to 1


@dataclass(frozen=True)
class PatentPart:
    patent: int
    weight: Decimal
    costs_unrecovered: Decimal
    inventors: Sequence[InventorPart]  # empty: not recorded yet, the team's part is kept unassigned


@dataclass(frozen=True)
class Line:
    patent: int
    party: str
    amount: Decimal
    inventor: int | None = None
    college: str = ""


def vat_included(amount: Decimal, rate: Decimal | None) -> Decimal:
    """The VAT inside an amount received with VAT included: amount x rate / (1 + rate)."""
    if rate is None:
        return ZERO
    return cny(amount * rate / (1 + rate))


def _among_inventors(patent: int, party: str, amount: Decimal, inventors: Sequence[InventorPart]) -> list[Line]:
    if not amount:
        return []
    if not inventors:
        return [Line(patent, party, amount)]
    if party == INVENTOR:
        parts = split_proportionally(amount, [i.share for i in inventors])
        return [Line(patent, INVENTOR, part, inventor=i.inventor) for i, part in zip(inventors, parts, strict=True)]
    colleges: dict[str, Decimal] = {}
    for i in inventors:
        colleges[i.college] = colleges.get(i.college, ZERO) + i.share
    names = sorted(colleges)
    parts = split_proportionally(amount, [colleges[name] for name in names])
    return [Line(patent, COLLEGE, part, college=name) for name, part in zip(names, parts, strict=True)]


def distribute_patent(gross: Decimal, patent: PatentPart, split: Split) -> list[Line]:
    """One patent's gross share: deductions, then the net's parts (lines of zero are left out)."""
    vat = vat_included(gross, split.vat_rate)
    base = gross - vat
    tax = min(cny(base * split.tax_rate), base)
    service = min(cny(base * split.service_rate), base - tax)
    costs = min(patent.costs_unrecovered, base - tax - service) if split.deduct_costs else ZERO
    net = base - tax - service - max(costs, ZERO)
    lines = [
        Line(patent.patent, party, amount)
        for party, amount in ((VAT, vat), (TAX, tax), (SERVICE, service), (COSTS, max(costs, ZERO)))
        if amount
    ]
    if net:
        weights = [split.inventors, split.college, split.tto, split.institution]
        for party, amount in zip(NET_PARTIES, split_proportionally(net, weights), strict=True):
            if party in (INVENTOR, COLLEGE):
                lines += _among_inventors(patent.patent, party, amount, patent.inventors)
            elif amount:
                lines.append(Line(patent.patent, party, amount))
    return lines


def distribute(amount: Decimal, patents: Sequence[PatentPart], split: Split) -> list[Line]:
    """Split an amount received over a license's patents and, for each, by the policy: the lines
    add up exactly to `amount`. A patent's costs are recovered once: pass what is left of them."""
    if amount <= ZERO:
        raise ValueError("only a positive amount is distributed; a reversal is `reverse`")
    grosses = split_proportionally(amount, [p.weight for p in patents])
    return [line for p, gross in zip(patents, grosses, strict=True) for line in distribute_patent(gross, p, split)]


def distribute_equity(value: Decimal, patents: Sequence[PatentPart], inventors_share: Decimal) -> list[Line]:
    """A stake taken instead of a fee, valued at the amount converted: no deduction applies to
    shares; the inventor team's share of it goes to the inventors, the rest to the institution."""
    if value <= ZERO:
        raise ValueError("only a positive value is distributed")
    lines: list[Line] = []
    for p, gross in zip(patents, split_proportionally(value, [p.weight for p in patents]), strict=True):
        team, institution = split_proportionally(gross, [inventors_share, 1 - inventors_share])
        lines += _among_inventors(p.patent, INVENTOR, team, p.inventors)
        if institution:
            lines.append(Line(p.patent, INSTITUTION, institution))
    return lines


def reverse(amount: Decimal, standing: Sequence[tuple[Line, Decimal]]) -> list[Line]:
    """Take back `amount` of what was allocated, in proportion to what each line still holds
    (`standing`: a line's key and its net amount): the reversal's lines add up to -amount, and no
    line is taken below zero."""
    holding = [(line, held) for line, held in standing if held > ZERO]  # a key wholly taken back holds 0
    if amount <= ZERO or amount > sum((held for _line, held in holding), ZERO):
        raise ValueError("a reversal takes back a positive amount, at most what is held")
    parts = split_proportionally(amount, [held for _line, held in holding])
    return [
        Line(line.patent, line.party, -part, inventor=line.inventor, college=line.college)
        for (line, _held), part in zip(holding, parts, strict=True)
        if part
    ]


def below_legal_floor(net_to_inventors: Decimal, equity_to_inventors: Decimal) -> bool:
    """Art. 45's default: at least half of the net income and half of the shares to the inventors."""
    return net_to_inventors < LEGAL_FLOOR or equity_to_inventors < LEGAL_FLOOR
