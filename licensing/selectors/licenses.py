"""Reads of licenses: balances and due dates in SQL, the audit trail, the catalogue, what an
SME's portal pages show."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from ..domain.clock import today
from ..domain.money import ZERO
from ..models import (
    AuditEvent,
    Contract,
    ContractVersion,
    Enterprise,
    EquityConversion,
    Installment,
    InsuranceClaim,
    InsurancePolicy,
    License,
    LicenseMilestone,
    Offer,
    OfferMilestone,
    OfferPatent,
    OfferQuerySet,
    Patent,
    Payment,
    PaymentReport,
    Recordal,
    Reminder,
    RoyaltyReport,
    person_name,
)

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def unpaid_installments() -> QuerySet[Installment]:
    """Installments of the outer license (OuterRef) still open: money to pay, or a period's report."""
    return Installment.objects.open().filter(license=OuterRef("pk"))


def licenses_with_balances(queryset: QuerySet[License] | None = None) -> QuerySet[License]:
    """Licenses with what is outstanding and the next unpaid due date (columns the database keeps,
    models/balances.py), and what the next due installment asks: its amount left and whether it
    is a period still to report (correlated subqueries: computed for the rows read)."""
    queryset = License.objects.all() if queryset is None else queryset
    # Effective dates (moved past weekends and holidays), as the sweep, reminders and dashboard;
    # the next one is the one payments pay first (the installments' own order).
    first = unpaid_installments().order_by("effective_due_date", "kind", "sequence")
    return queryset.select_related("offer__patent__owner", "enterprise").annotate(
        next_due_amount=Subquery(
            first.annotate(left=F("amount") - F("paid_amount")).values("left")[:1], output_field=_MONEY
        ),
        next_due_is_report=Subquery(first.values("report_pending")[:1]),  # a royalty period still to report
    )


def balances_out_of_step(queryset: QuerySet[License] | None = None) -> QuerySet[License]:
    """Licenses whose kept balance (outstanding, next due date) is not what their installments say
    now, computed here from `Installment.objects.open()`: the twin of the database's triggers
    (models/balances.py). Empty, always; the suite checks it after every test that writes."""
    queryset = License.objects.all() if queryset is None else queryset
    outstanding = (
        unpaid_installments()
        .order_by()
        .values("license")
        .annotate(total=Sum(F("amount") - F("paid_amount"), output_field=_MONEY))
        .values("total")
    )
    first = unpaid_installments().order_by("effective_due_date", "kind", "sequence")
    computed = queryset.annotate(
        computed_outstanding=Coalesce(Subquery(outstanding, output_field=_MONEY), Value(ZERO, output_field=_MONEY)),
        computed_next_due=Subquery(first.values("effective_due_date")[:1]),
    )
    # Spelt out for NULLs: a date against no date is a difference, where SQL's `=` says "unknown".
    kept, now = Q(next_due_date__isnull=True), Q(computed_next_due__isnull=True)
    differs = (
        ~Q(outstanding_amount=F("computed_outstanding"))
        | (kept & ~now)
        | (~kept & now)
        | (~kept & ~now & ~Q(next_due_date=F("computed_next_due")))
    )
    return computed.filter(differs).order_by("pk")


def with_installment_due(
    queryset: QuerySet[License], start: date | None = None, end: date | None = None
) -> QuerySet[License]:
    """Licenses with an unpaid installment whose effective due date is between start and end
    (either may be open). With neither, those with anything open: the kept next due date says so
    (models/balances.py), read by its index instead of a semi-join over every installment."""
    if start is None and end is None:
        return queryset.filter(next_due_date__isnull=False)
    due = unpaid_installments()
    if start is not None:
        due = due.filter(effective_due_date__gte=start)
    if end is not None:
        due = due.filter(effective_due_date__lte=end)
    return queryset.filter(Exists(due))


def without_anything_due(queryset: QuerySet[License]) -> QuerySet[License]:
    """Nothing open: no next due date kept (an anti-join over the installments, read as a column)."""
    return queryset.filter(next_due_date__isnull=True)


def audit_trail(obj: Model) -> QuerySet[AuditEvent]:
    """Every change of one object, newest first: who, when, what, from -> to, why. A license's
    trail holds its own events and those of everything that hangs off it (installments,
    payments, reports, claims, conversions, its policy), read by one index."""
    if isinstance(obj, License):
        events = AuditEvent.objects.filter(license=obj)
    else:
        events = AuditEvent.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
    return events.select_related("by").order_by("-at", "-pk")


def name_related(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """The events, with the related objects their changes name (who filed, which installment)
    looked up for readable_changes: one query per kind of object, whatever the number of events."""
    events = list(events)
    wanted: dict[type[Model], set] = defaultdict(set)
    for event in events:
        for model, pk in event.related_keys():
            wanted[model].add(pk)
    names: dict[tuple[type[Model], Any], str] = {}
    for model, pks in wanted.items():
        for obj in model._default_manager.filter(pk__in=pks):
            names[(model, obj.pk)] = person_name(obj) if isinstance(obj, AbstractBaseUser) else str(obj)
    for event in events:
        event.__dict__["related_names"] = names  # read by readable_changes
    return events


# -- the SME portal ------------------------------------------------------------------------------


def catalogue(
    *,
    search: str = "",
    ipc_section: str = "",
    institution_id: int | None = None,
    available_only: bool = False,
    on: date | None = None,
    enterprise: Enterprise | None = None,
) -> OfferQuerySet:
    """Published offers whose every patent is in force, with `available` (can be applied for now)
    and `package_size` (patents in the package). A search or an IPC section matches any patent of
    the package; each is one EXISTS, so a package of ten costs what a package of one does."""
    on = on or today()
    package = OfferPatent.objects.filter(offer=OuterRef("pk"))
    lapsed = package.exclude(Patent.in_force_q(on, "patent__"))
    offers = (
        Offer.objects.filter(~Exists(lapsed), state=Offer.State.PUBLISHED)
        .select_related("patent__owner")
        .with_availability(enterprise, on)  # for a member, "you hold it" is a reason too
        .annotate(package_size=Subquery(package.order_by().values("offer").annotate(n=Count("pk")).values("n")))
        .annotate(milestones_agreed=Exists(OfferMilestone.objects.filter(offer=OuterRef("pk"))))  # is_free reads it
        .order_by("-created_at", "-pk")
    )
    if search:
        offers = offers.filter(
            Q(name__icontains=search)  # the offer's title: a package's name
            | Q(patent__owner__name__icontains=search)
            | Exists(
                package.filter(
                    Q(patent__title__icontains=search)
                    | Q(patent__number__icontains=search)
                    | Q(patent__ipc_class__icontains=search)
                    | Q(patent__keywords__icontains=search)
                )
            )
        )
    if ipc_section:
        offers = offers.filter(Exists(package.filter(patent__ipc_class__istartswith=ipc_section)))
    if institution_id:
        offers = offers.filter(patent__owner_id=institution_id)
    if available_only:
        offers = offers.filter(available=True)
    return offers


def live_licenses_on(patents: QuerySet[Patent]) -> QuerySet[License]:
    """The live licenses on any of these patents, oldest first, with their enterprise and patents:
    what an officer publishing an offer on them, or picking them for a package, needs to see."""
    return (
        License.objects.live()
        .filter(patent_links__patent__in=patents)
        .distinct()
        .select_related("enterprise")
        .prefetch_related(PACKAGE)
        .order_by("applied_at", "pk")
    )


def live_license_types(patent_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each patent, how many live licenses of each type it carries (one query): what the patent
    picker shows beside each patent."""
    rows = (
        License.objects.live()
        .filter(patent_links__patent_id__in=patent_ids)
        .values_list("patent_links__patent_id", "license_type")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    held: dict[int, dict[str, int]] = {}
    for patent_id, license_type, n in rows:
        held.setdefault(patent_id, {})[license_type] = n
    return held


def enterprise_licenses(enterprise: Enterprise) -> QuerySet[License]:
    """An SME's licenses with balances, newest first."""
    licenses = licenses_with_balances(License.objects.filter(enterprise=enterprise)).select_related("contract")
    return licenses.order_by("-applied_at", "-pk")


def enterprise_license(enterprise: Enterprise, pk: int) -> License:
    """One of the SME's own licenses with everything its page shows, in a fixed number of
    queries; another enterprise's license does not exist here (404)."""
    return get_object_or_404(
        licenses_with_balances(License.objects.filter(enterprise=enterprise))
        .select_related("contract")
        .prefetch_related(
            "installments",
            Prefetch("payment_reports", queryset=PaymentReport.objects.order_by("-reported_at")),
            Prefetch(
                "payments", queryset=Payment.objects.select_related("invoice_request").order_by("-paid_on", "-pk")
            ),
            Prefetch("reminders", queryset=Reminder.objects.filter(state=Reminder.State.SENT).order_by("-sent_at")),
            Prefetch("claims", queryset=InsuranceClaim.objects.order_by("-filed_on")),
            Prefetch("equity_conversions", queryset=EquityConversion.objects.order_by("-proposed_on")),
            Prefetch("patents", queryset=Patent.objects.order_by("number")),
            Prefetch("milestones", queryset=LicenseMilestone.objects.select_related("installment")),
            "royalty_reports",
        ),
        pk=pk,
    )


def enterprise_report(enterprise: Enterprise, license_pk: int, report_pk: int) -> RoyaltyReport:
    """One royalty or use report of the SME's own license, with its license; 404 otherwise."""
    return get_object_or_404(
        RoyaltyReport.objects.select_related("license"),
        pk=report_pk,
        license_id=license_pk,
        license__enterprise=enterprise,
    )


def balance_summary(lic: License, on: date) -> dict:
    """What a staff member needs before acting on a license, in one aggregate of its schedule:
    contracted (everything that has fallen due, known amounts), paid, outstanding, overdue on
    `on` (effective dates), and the next date and amount; plus its credit."""
    owed = F("amount") - F("paid_amount")
    overdue = Q(pk__in=Installment.objects.overdue(on).filter(license=lic).values("pk"))
    figures = Installment.objects.filter(license=lic).aggregate(
        contracted=Coalesce(Sum("amount"), Value(ZERO), output_field=_MONEY),
        paid=Coalesce(Sum("paid_amount"), Value(ZERO), output_field=_MONEY),
        outstanding=Coalesce(Sum(owed), Value(ZERO), output_field=_MONEY),
        overdue=Coalesce(Sum(owed, filter=overdue), Value(ZERO), output_field=_MONEY),
        reports_late=Count("pk", filter=overdue & Q(report_pending=True)),
    )
    upcoming = (
        Installment.objects.open()
        .filter(license=lic)
        .order_by("effective_due_date", "kind", "sequence")
        .values("effective_due_date", "amount", "paid_amount", "report_pending")
        .first()
    )
    return {
        **figures,
        "credit": lic.credit,
        "next_due_date": upcoming and upcoming["effective_due_date"],
        "next_due_amount": upcoming and upcoming["amount"] - upcoming["paid_amount"],
        "next_is_report": bool(upcoming and upcoming["report_pending"]),
    }


@dataclass(frozen=True)
class MoneyPosition:
    """What a license owes on a day, as the payment page and the license header show it: overdue
    (past its effective date), due now (what falls due on the next date), and later (listed, not
    summed into "now"). A period whose report is still to come is listed without an amount."""

    SHOWN_LATER = 6  # the rest of a long term (a royalty period a quarter for 15 years) folds away

    on: date
    overdue: list[Installment]
    due_now: list[Installment]
    later: list[Installment]

    @staticmethod
    def _total(rows: list[Installment]) -> Decimal:
        return sum((row.outstanding for row in rows), ZERO)

    @property
    def overdue_total(self) -> Decimal:
        return self._total(self.overdue)

    @property
    def due_now_total(self) -> Decimal:
        return self._total(self.due_now)

    @property
    def later_total(self) -> Decimal:
        return self._total(self.later)

    @property
    def to_pay_now(self) -> Decimal:
        """What the payment form is prefilled with: the overdue, and what falls due next."""
        return self.overdue_total + self.due_now_total

    @property
    def later_first(self) -> list[Installment]:
        return self.later[: self.SHOWN_LATER]

    @property
    def later_rest(self) -> list[Installment]:
        return self.later[self.SHOWN_LATER :]

    @property
    def due_now_date(self) -> date | None:
        return self.due_now[0].effective_due_date if self.due_now else None


def money_position(lic: License, on: date) -> MoneyPosition:
    """The license's open rows in one query (in date order), parted by the model's own overdue
    rule (Installment.is_overdue_on) and the next date something is owed."""
    rows = list(
        Installment.objects.open()
        .filter(license=lic)
        .select_related("report")  # a period to report says when its report is due
        .order_by("effective_due_date", "kind", "sequence")
    )
    overdue = [row for row in rows if row.is_overdue_on(on)]
    for row in overdue:
        row.days_late = (on - row.effective_due_date).days  # read by the page
    upcoming = [row for row in rows if not row.is_overdue_on(on)]
    # The next date something is to be done: a payment, or a period's report (whose royalty is due
    # with it), so a milestone next year is not shown as due by this quarter's report date.
    next_date = next((row.effective_due_date for row in upcoming if row.outstanding or row.report_pending), None)
    due_now = [row for row in upcoming if next_date is not None and row.effective_due_date <= next_date]
    later = [row for row in upcoming if row not in due_now]
    return MoneyPosition(on, overdue, due_now, later)


# The patents of an offer's package, in number order, in one query whatever their number.
PACKAGE = Prefetch("patents", queryset=Patent.objects.order_by("number"))


def license_timeline(lic: License) -> QuerySet[AuditEvent]:
    """What the SME's license page lists under its application, oldest first: every change since."""
    application = Q(action=AuditEvent.Action.CREATED, content_type=ContentType.objects.get_for_model(License))
    return audit_trail(lic).exclude(application).order_by("at", "pk")


def enterprise_history(enterprise: Enterprise, limit: int = 50) -> QuerySet[AuditEvent]:
    """The latest changes to an enterprise's details and its members, newest first."""
    return AuditEvent.objects.filter(enterprise=enterprise).select_related("by").order_by("-at", "-pk")[:limit]


def related_present(lic: License, models: list[type[Model]]) -> set[type[Model]]:
    """Which of these models (each with a `license` key) have rows for the license: one query,
    so its page leaves out the empty sections (a trial has no payments, claims or reminders)."""
    checks = {f"has_{m._meta.model_name}": Exists(m._default_manager.filter(license=OuterRef("pk"))) for m in models}
    row = License.objects.filter(pk=lic.pk).values(**checks).first() or {}
    return {m for m in models if row.get(f"has_{m._meta.model_name}")}


def policy_of(lic: License) -> InsurancePolicy | None:
    return InsurancePolicy.objects.filter(license=lic).first()


def contract_of(lic: License) -> Contract | None:
    """The license's contract with its versions and recordals in order (three queries; one when
    there is none)."""
    return (
        Contract.objects.filter(license=lic)
        .prefetch_related(
            Prefetch("versions", ContractVersion.objects.order_by("version")),
            Prefetch("recordals", Recordal.objects.order_by("arose_on", "pk")),
        )
        .first()
    )


def deadlines_of(enterprise: Enterprise) -> tuple[QuerySet[License], QuerySet[Installment]]:
    """Trial ends, unpaid installments and reports to file of the SME's live licenses, for its
    calendar feed."""
    trials = License.objects.filter(enterprise=enterprise, state=License.State.TRIAL).select_related("offer__patent")
    installments = (
        Installment.objects.open()
        .filter(license__enterprise=enterprise, license__state__in=License.PAYABLE_STATES)
        .select_related("license__offer__patent", "report")
        .order_by("effective_due_date")
    )
    return trials, installments
