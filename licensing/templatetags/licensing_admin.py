from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from licensing import selectors
from licensing.domain import clock
from licensing.health import system_status as checks
from licensing.reporting.tables import display

register = template.Library()


@register.simple_tag(takes_context=True)
def system_status(context):
    """Broker, mail and delivery checks for the admin index (staff only)."""
    user = context["request"].user
    return checks() if user.is_active and user.is_staff else []


def list_url(model_name: str, query: str) -> str:
    """The admin list of a model, filtered: where a count or a figure leads."""
    return f"{reverse(f'admin:licensing_{model_name}_changelist')}?{query}"


@register.filter
def displayed_rows(table):
    """The table's rows as (cells, link): cells as (column kind, text) formatted as on the page,
    and the URL of the admin list behind the row (or None)."""
    rows = list(table.rows)
    links = list(table.links) or [None] * len(rows)
    return [
        ([(c.kind, display(c, v)) for c, v in zip(table.columns, row, strict=True)], link and list_url(*link))
        for row, link in zip(rows, links, strict=True)
    ]


# Each work-queue row: its words, and the admin list (with its filter) that shows the rows it counts.
WORK = {
    "applications": (_("Applications to decide"), "license", "state__exact=applied"),
    "payment_reports": (_("Reported payments to confirm"), "paymentreport", "state__exact=reported"),
    "royalty_reports": (_("Royalty and use reports to accept"), "royaltyreport", "state__exact=filed"),
    "members": (_("Portal members to approve"), "enterprisemember", "state__exact=pending"),
    "trials_ending": (_("Trials ending in the next 7 days"), "license", "trial_ends=7"),
    "overdue": (_("Licenses with an overdue payment or report"), "license", "due=overdue"),
    "late_reports": (_("Reports past their due date"), "royaltyreport", "late=1"),
    "defaults": (_("Defaults to act on (claim or write off)"), "license", "state__exact=defaulted"),
    "contracts_to_issue": (_("Contracts to issue (bought licenses without one)"), "license", "contract=to_issue"),
    "contracts_to_sign": (_("Contracts the licensee signed: sign and record"), "license", "contract=licensor"),
    "contracts_with_licensee": (_("Contracts awaiting the licensee's signature"), "license", "contract=licensee"),
    "recordals_to_file": (_("CNIPA recordals to file"), "recordal", "state__exact=due"),
    "recordals_late": (_("CNIPA recordals past their deadline"), "recordal", "late=1"),
    "contracts_to_register": (_("Signed contracts to register as technology contracts"), "contract", "registered=no"),
    "invoices_to_issue": (_("Invoices to issue"), "invoicerequest", "state__exact=requested"),
    "invoices_overdue": (_("Invoices asked for more than 15 days ago"), "invoicerequest", "overdue=1"),
    "claims_to_decide": (_("Insurance claims to decide"), "insuranceclaim", "state__exact=filed"),
    "claims_to_be_paid": (_("Approved claims awaiting the insurer"), "insuranceclaim", "state__exact=approved"),
    "exports": (_("Exports ready to download"), "export", "state__exact=done"),
}


@register.simple_tag(takes_context=True)
def work_queue(context):
    """What waits for this user today, each a count linking to the list behind it."""
    user = context["request"].user
    if not (user.is_active and user.is_staff):
        return []
    rows = []
    for task in selectors.work_queue(user, clock.today()):
        label, model, query = WORK[task.key]
        rows.append(
            {
                "key": task.key,
                "label": label,
                "count": task.count,
                "url": list_url(model, query),
            }
        )
    return rows


@register.simple_tag(takes_context=True)
def recent_changes(context):
    """The audit trail's latest events this user may read, for the index's side box."""
    user = context["request"].user
    return selectors.recent_changes(user) if user.is_active and user.is_staff else []
