"""How numbers read, in both languages: money as bank statements write it (1,200,000.00) and
ratios stored as fractions (coverage 0.8, a royalty rate 0.035) as percentages (80%, 3.5%)."""

from decimal import Decimal, InvalidOperation


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
