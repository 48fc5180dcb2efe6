from django import template

from licensing.health import system_status as checks
from licensing.reporting.tables import display

register = template.Library()


@register.simple_tag(takes_context=True)
def system_status(context):
    """Broker, mail and delivery checks for the admin index (staff only)."""
    user = context["request"].user
    return checks() if user.is_active and user.is_staff else []


@register.filter
def displayed_rows(table):
    """The table's rows as (column kind, text) cells, formatted as on the page."""
    return [[(c.kind, display(c, v)) for c, v in zip(table.columns, row, strict=True)] for row in table.rows]


@register.filter
def money(value):
    return "—" if value is None else f"{value:,.2f}"
