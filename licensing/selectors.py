"""Reads. Anything a page or report needs that goes beyond one object lives here, in SQL."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractYear, Substr, TruncMonth, Upper
from django.shortcuts import get_object_or_404
from django.utils.text import smart_split, unescape_string_literal
from django_fsm_log.models import StateLog

from .domain.money import ZERO
from .models import (
    AuditEvent,
    Enterprise,
    EquityConversion,
    Export,
    Installment,
    Institution,
    InsuranceClaim,
    InsurancePolicy,
    License,
    Offer,
    Patent,
    Payment,
    PaymentReport,
    Reminder,
    ReminderSchedule,
    today,
)

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def institution_of(user):
    """The institution a staff user works for; None for superusers (who see all)."""
    if user.is_superuser:
        return None
    profile = getattr(user, "staff_profile", None)
    return profile.institution if profile else False


# Lookup from each scoped model to the institution that owns its rows.
INSTITUTION_PATH = {
    Patent: "owner",
    Offer: "patent__owner",
    License: "offer__patent__owner",
    Installment: "license__offer__patent__owner",
    Payment: "license__offer__patent__owner",
    PaymentReport: "license__offer__patent__owner",
    InsuranceClaim: "license__offer__patent__owner",
    EquityConversion: "license__offer__patent__owner",
    Reminder: "license__offer__patent__owner",
    ReminderSchedule: "institution",
}


def enterprises_for(user, queryset=None):
    """Enterprises a user may see in the admin: a superuser all; staff those that deal with their
    institution (a license in any state) and those that deal with no institution yet (new
    sign-ups, prospects of every institution); staff with no institution none."""
    queryset = Enterprise.objects.all() if queryset is None else queryset
    institution = institution_of(user)
    if institution is None:
        return queryset
    if institution is False:
        return queryset.none()
    ours = License.objects.filter(enterprise=OuterRef("pk"), offer__patent__owner=institution)
    anyone = License.objects.filter(enterprise=OuterRef("pk"))
    return queryset.filter(Exists(ours) | ~Exists(anyone))


def scope_to_user(queryset, user, path: str):
    """Rows of the user's institution only; none at all for staff with no institution."""
    institution = institution_of(user)
    if institution is None:
        return queryset
    if institution is False:
        return queryset.none()
    return queryset.filter(**{path: institution})


def search(queryset, term: str, fields):
    """The admin's search, bounded in the size of the book: every word of `term` must be contained
    (case-insensitively) in one of `fields`, as in Django's own search.

    The most selective word (the fewest matching rows in the tables its fields live in, counted up
    to SEARCH_BREADTH_CAP) finds the candidates: one `pk IN (SELECT … UNION SELECT …)`, a branch
    per field: the table's own fields, and for a field of a related row ("enterprise__name") the
    rows whose key is among the related rows that match, found in that row's own table. An IN at
    the top of WHERE is a semi-join, which PostgreSQL runs as a hash join whatever the number of
    matches, so no word, however common, makes the search quadratic (the OR of
    `key = ANY(ARRAY(…))` it replaces compared each of 736k payments with 100k keys one by one:
    3 minutes). The other words are then tested on those candidates only, through the to-one
    joins. When even the rarest word is common (it matches SEARCH_BREADTH_CAP rows or more), the
    search is about much of the book: every word is tested through the joins, one pass over the
    book that PostgreSQL hashes (a semi-join there would be planned for the few rows a pattern is
    estimated to match, and look each of 736k candidates up by key: 11 s instead of 1 s)."""
    words = list(dict.fromkeys(_search_words(term)))
    if not fields or not words:
        return queryset  # nothing to search in, or for: the term is ignored, as Django does
    model = queryset.model
    breadth = {word: _breadth(model, fields, word) for word in words}
    first = min(words, key=breadth.get)
    if breadth[first] < SEARCH_BREADTH_CAP:
        queryset = queryset.filter(pk__in=_matching_keys(model, fields, first))
        words.remove(first)
    for word in words:
        queryset = queryset.filter(_any_field_contains(fields, word))
    return queryset


# Matches counted per field when choosing the most selective word: beyond this a word is "common".
SEARCH_BREADTH_CAP = 1000


def _breadth(model, fields, word) -> int:
    """How many rows a word matches, field by field, each in the table the field lives in (small
    tables for related fields), each count stopped at SEARCH_BREADTH_CAP."""
    total = 0
    for field in fields:
        *path, name = field.split("__")
        table = model
        for step in path:
            table = table._meta.get_field(step).related_model
        rows = table._default_manager.filter(**{f"{name}__icontains": word}).order_by().values("pk")
        total += rows[:SEARCH_BREADTH_CAP].count()
    return total


def _any_field_contains(fields, word) -> Q:
    match = Q()
    for field in fields:
        match |= Q(**{f"{field}__icontains": word})
    return match


def _search_words(term: str):
    """Words as the admin splits them: a quoted phrase is one word."""
    for bit in smart_split(term):
        if bit[0] in "\"'" and bit[-1] == bit[0] and len(bit) > 1:
            bit = unescape_string_literal(bit)
        if bit:
            yield bit


def _matching_keys(model, fields, word):
    """The keys of `model`'s rows where one of `fields` contains `word`, as one subquery."""
    own, related = Q(), defaultdict(list)
    for field in fields:
        head, _, rest = field.partition("__")
        if rest:
            related[head].append(rest)
        else:
            own |= Q(**{f"{field}__icontains": word})
    rows = model._default_manager.order_by()
    branches = [rows.filter(own).values("pk")] if own else []
    for head, rest in related.items():
        relation = model._meta.get_field(head)
        assert relation.many_to_one or relation.one_to_one, f"{model.__name__}.{head}: search goes through to-one only"
        keys = _matching_keys(relation.related_model, rest, word)
        branches.append(rows.filter(**{f"{head}__in": keys}).values("pk"))
    first, *others = branches
    return first.union(*others) if others else first


def unpaid_installments():
    """Installments of the outer license (OuterRef) that still have something to pay."""
    return Installment.objects.filter(license=OuterRef("pk"), paid_amount__lt=F("amount"))


def licenses_with_balances(queryset=None):
    """Licenses with what is outstanding and the next unpaid due date. Correlated subqueries, not
    a GROUP BY: the database computes them only for the rows of the page shown."""
    queryset = License.objects.all() if queryset is None else queryset
    outstanding = (
        unpaid_installments()
        .order_by()
        .values("license")
        .annotate(total=Sum(F("amount") - F("paid_amount"), output_field=_MONEY))
        .values("total")
    )
    # Effective dates (moved past weekends and holidays), as the sweep, reminders and dashboard.
    next_due = unpaid_installments().order_by("effective_due_date").values("effective_due_date")[:1]
    return queryset.select_related("offer__patent__owner", "enterprise").annotate(
        outstanding_amount=Coalesce(Subquery(outstanding, output_field=_MONEY), Value(ZERO, output_field=_MONEY)),
        next_due_date=Subquery(next_due),
    )


def with_installment_due(queryset, start=None, end=None):
    """Licenses with an unpaid installment whose effective due date is between start and end
    (either may be open)."""
    due = unpaid_installments()
    if start is not None:
        due = due.filter(effective_due_date__gte=start)
    if end is not None:
        due = due.filter(effective_due_date__lte=end)
    return queryset.filter(Exists(due))


def without_anything_due(queryset):
    return queryset.filter(~Exists(unpaid_installments()))


def transition_log(obj):
    """Every state change of one object: who, when, from, to, why."""
    return StateLog.objects.for_(obj).select_related("by").order_by("-timestamp", "-pk")


# -- the SME portal ------------------------------------------------------------------------------


def _patent_taken():
    """True where the outer offer's patent cannot be licensed now: an exclusive license is live
    on it, or the offer is exclusive and any license is live."""
    live = License.objects.live().filter(offer__patent=OuterRef("patent"))
    return Exists(live.filter(offer__exclusive=True)) | (Q(exclusive=True) & Exists(live))


def catalogue(*, search: str = "", ipc_section: str = "", institution_id=None, available_only=False, on=None):
    """Published offers on patents in force, with `available` (can be applied for now)."""
    on = on or today()
    offers = (
        Offer.objects.filter(  # as Patent.is_in_force
            state=Offer.State.PUBLISHED, patent__legal_status=Patent.LegalStatus.VALID, patent__expiry_date__gte=on
        )
        .select_related("patent__owner")
        .annotate(available=ExpressionWrapper(~_patent_taken(), output_field=BooleanField()))
        .order_by("-created_at", "-pk")
    )
    if search:
        offers = offers.filter(
            Q(patent__title__icontains=search)
            | Q(patent__number__icontains=search)
            | Q(patent__ipc_class__icontains=search)
            | Q(patent__owner__name__icontains=search)
            | Q(patent__keywords__icontains=search)
        )
    if ipc_section:
        offers = offers.filter(patent__ipc_class__istartswith=ipc_section)
    if institution_id:
        offers = offers.filter(patent__owner_id=institution_id)
    if available_only:
        offers = offers.filter(available=True)
    return offers


def enterprise_licenses(enterprise):
    """An SME's licenses with balances, newest first."""
    return licenses_with_balances(License.objects.filter(enterprise=enterprise)).order_by("-applied_at", "-pk")


def enterprise_license(enterprise, pk: int) -> License:
    """One of the SME's own licenses with everything its page shows, in a fixed number of
    queries; another enterprise's license does not exist here (404)."""
    return get_object_or_404(
        licenses_with_balances(License.objects.filter(enterprise=enterprise)).prefetch_related(
            "installments",
            Prefetch("payment_reports", queryset=PaymentReport.objects.order_by("-reported_at")),
            Prefetch("reminders", queryset=Reminder.objects.filter(state=Reminder.State.SENT).order_by("-sent_at")),
            Prefetch("claims", queryset=InsuranceClaim.objects.order_by("-filed_on")),
            Prefetch("equity_conversions", queryset=EquityConversion.objects.order_by("-proposed_on")),
        ),
        pk=pk,
    )


def enterprise_history(enterprise, limit: int = 50):
    """The latest changes to an enterprise's details, newest first."""
    return AuditEvent.objects.filter(enterprise=enterprise).select_related("by").order_by("-at", "-pk")[:limit]


def policy_of(lic: License):
    return InsurancePolicy.objects.filter(license=lic).first()


def deadlines_of(enterprise):
    """Trial ends and unpaid installments of the SME's live licenses, for its calendar feed."""
    trials = License.objects.filter(enterprise=enterprise, state=License.State.TRIAL).select_related("offer__patent")
    installments = (
        Installment.objects.filter(
            license__enterprise=enterprise,
            license__state__in=License.PAYABLE_STATES,
            paid_amount__lt=F("amount"),
        )
        .select_related("license__offer__patent")
        .order_by("effective_due_date")
    )
    return trials, installments


# -- the TTO dashboard and exports ---------------------------------------------------------------

# Licenses whose unpaid installments are still owed (by the SME, or its insurer once a claim is
# filed): what "outstanding", aging and insured exposure count.
OWED_STATES = (*License.PAYABLE_STATES, License.State.DEFAULTED, License.State.CLAIM_FILED)
AGING_BUCKETS = (("1-30", 1, 30), ("31-90", 31, 90), ("90+", 91, None))  # days past the effective due date
SOON_DAYS = 30


def report_scope(user, picked: Institution | None = None) -> Institution | None:
    """The institution a user's reports cover: staff always their own; a superuser the one
    picked, or all (None). Staff with no institution see nothing."""
    institution = institution_of(user)
    if institution is False:
        raise PermissionDenied
    return picked if institution is None else institution


@dataclass(frozen=True)
class BookFilter:
    """The part of the book a report covers: an institution (None: all), an IPC section, and a
    period that applies to the figures that happen on a day (trials ended, purchases, payments,
    claims, conversions). Stock figures (states, outstanding, aging) are as of today."""

    institution: Institution | None = None
    ipc_section: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def licenses(self, queryset, to_license: str = ""):
        """Rows whose license (reached by `to_license`, e.g. "license__") is in scope."""
        if self.institution is not None:
            queryset = queryset.filter(**{f"{to_license}offer__patent__owner": self.institution})
        if self.ipc_section:
            queryset = queryset.filter(**{f"{to_license}offer__patent__ipc_class__istartswith": self.ipc_section})
        return queryset

    def period(self, field: str) -> Q:
        q = Q()
        if self.date_from:
            q &= Q(**{f"{field}__gte": self.date_from})
        if self.date_to:
            q &= Q(**{f"{field}__lte": self.date_to})
        return q


def pipeline(book: BookFilter, on: dt.date) -> dict:
    """Licenses in each state, and trials ending within SOON_DAYS: one GROUP BY."""
    rows = (
        book.licenses(License.objects.order_by())
        .values("state")
        .annotate(
            n=Count("pk"),
            ending=Count(
                "pk",
                filter=Q(state=License.State.TRIAL, trial_end_effective__range=(on, on + dt.timedelta(days=SOON_DAYS))),
            ),
        )
    )
    rows = list(rows)
    return {"states": {r["state"]: r["n"] for r in rows}, "trials_ending": sum(r["ending"] for r in rows)}


def receivables(book: BookFilter, on: dt.date) -> dict:
    """What is owed, as of `on`: outstanding, due within SOON_DAYS, overdue by age, and insured
    exposure (coverage x outstanding). One scan of the unpaid installments."""
    owed = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=_MONEY)

    def due_between(first: int, last: int | None) -> Q:
        """Effective due date between `first` and `last` days before `on` (negative: after)."""
        q = Q(effective_due_date__lte=on - dt.timedelta(days=first))
        return q & Q(effective_due_date__gte=on - dt.timedelta(days=last)) if last is not None else q

    figures = {
        "outstanding": Sum(owed),
        "due_soon_count": Count("pk", filter=due_between(-SOON_DAYS, 0)),
        "due_soon_amount": Sum(owed, filter=due_between(-SOON_DAYS, 0)),
        "insured_exposure": Sum(
            ExpressionWrapper(owed * F("license__insurance_policy__coverage_ratio"), output_field=_MONEY)
        ),
    }
    for name, first, last in AGING_BUCKETS:
        figures[f"aging_{name}_count"] = Count("pk", filter=due_between(first, last))
        figures[f"aging_{name}_amount"] = Sum(owed, filter=due_between(first, last))
    unpaid = book.licenses(Installment.objects, "license__").filter(
        paid_amount__lt=F("amount"), license__state__in=OWED_STATES
    )
    return unpaid.aggregate(**figures)


CONVERSION_DIMENSIONS = {
    "size": F("enterprise__size_class"),
    "institution": F("offer__patent__owner__name"),
    "ipc": Upper(Substr("offer__patent__ipc_class", 1, 1)),
    "year": ExtractYear("trial_ended_on"),
}


def conversion(book: BookFilter, dimension: str) -> list[dict]:
    """Trials that ended in the period, and how many of them were bought (with or without an
    equity conversion, which comes with a purchase), grouped by one dimension."""
    ended = book.licenses(License.objects.order_by()).filter(
        book.period("trial_ended_on"), trial_ended_on__isnull=False
    )
    return list(
        ended.values(key=CONVERSION_DIMENSIONS[dimension])
        .annotate(ended=Count("pk"), converted=Count("pk", filter=Q(purchased_on__isnull=False)))
        .order_by("key")
    )


def contracts(book: BookFilter) -> dict:
    """Money contracted in the period: purchase prices on their purchase date, trial fees on the
    trial's first day."""
    bought = book.period("purchased_on") & Q(purchased_on__isnull=False)
    return book.licenses(License.objects).aggregate(
        purchases=Count("pk", filter=bought),
        purchase_value=Sum("price", filter=bought),
        trial_fees=Sum("trial_fee", filter=book.period("trial_start") & Q(trial_start__isnull=False)),
    )


def collections_by_month(book: BookFilter) -> list[dict]:
    payments = book.licenses(Payment.objects.order_by(), "license__").filter(book.period("paid_on"))
    return list(
        payments.values(month=TruncMonth("paid_on")).annotate(count=Count("pk"), amount=Sum("amount")).order_by("month")
    )


def claims_summary(book: BookFilter) -> dict:
    """Claims filed in the period, and what became of them."""
    claims = book.licenses(InsuranceClaim.objects, "license__").filter(book.period("filed_on"))
    state = InsuranceClaim.State
    return claims.aggregate(
        filed=Count("pk"),
        claimed=Sum("claimed_amount"),
        open=Count("pk", filter=Q(state__in=[state.FILED, state.APPROVED])),
        paid=Count("pk", filter=Q(state=state.PAID)),
        paid_amount=Sum("paid_amount", filter=Q(state=state.PAID)),
        rejected=Count("pk", filter=Q(state=state.REJECTED)),
    )


def equity_summary(book: BookFilter) -> dict:
    """Equity stakes taken (conversions executed in the period) and those still pending."""
    conversions = book.licenses(EquityConversion.objects, "license__")
    executed = Q(state=EquityConversion.State.EXECUTED) & book.period("executed_on")
    return conversions.aggregate(
        executed=Count("pk", filter=executed),
        converted_amount=Sum("converted_amount", filter=executed),
        pending=Count("pk", filter=Q(state__in=[EquityConversion.State.PROPOSED, EquityConversion.State.APPROVED])),
    )


def exports_of(user):
    """Exports a user may see and download: their own; a superuser's, all."""
    return Export.objects.all() if user.is_superuser else Export.objects.filter(requested_by=user)


# The rows of each data export, as plain values read in chunks (a 100k-license book has ~1M
# installments): no model instances, no per-row queries.


def export_licenses(book: BookFilter):
    return (
        licenses_with_balances(book.licenses(License.objects.all()))
        .order_by("pk")
        .values_list(
            "pk",
            "offer__patent__number",
            "offer__patent__title",
            "offer__patent__ipc_class",
            "offer__patent__owner__name",
            "enterprise__name",
            "enterprise__uscc",
            "enterprise__size_class",
            "state",
            "applied_at",
            "trial_start",
            "trial_end",
            "trial_end_effective",
            "trial_ended_on",
            "plan",
            "purchased_on",
            "price",
            "trial_fee",
            "outstanding_amount",
            "next_due_date",
            "defaulted_on",
        )
    )


def export_installments(book: BookFilter):
    return (
        book.licenses(Installment.objects.all(), "license__")
        .order_by("license_id", "kind", "sequence")
        .values_list(
            "license_id",
            "license__offer__patent__number",
            "license__enterprise__name",
            "license__state",
            "kind",
            "sequence",
            "amount",
            "due_date",
            "effective_due_date",
            "paid_amount",
            "state",
        )
    )


def export_payments(book: BookFilter):
    return (
        book.licenses(Payment.objects.all(), "license__")
        .filter(book.period("paid_on"))
        .order_by("paid_on", "pk")
        .values_list(
            "paid_on",
            "amount",
            "reference",
            "license_id",
            "license__offer__patent__number",
            "license__enterprise__name",
            "recorded_by__username",
            "recorded_at",
        )
    )


def export_claims(book: BookFilter):
    return (
        book.licenses(InsuranceClaim.objects.all(), "license__")
        .filter(book.period("filed_on"))
        .order_by("filed_on", "pk")
        .values_list(
            "pk",
            "license_id",
            "license__offer__patent__number",
            "license__enterprise__name",
            "policy__insurer",
            "policy__policy_number",
            "policy__coverage_ratio",
            "state",
            "filed_on",
            "outstanding_at_filing",
            "claimed_amount",
            "paid_amount",
        )
    )
