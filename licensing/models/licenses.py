"""Domain models. Each lifecycle is an FSM field; @transition methods check conditions and set
fields only. Services (licensing/services/) run them inside a transaction and save.

The full License lifecycle (one place, drawn in the README by `manage.py state_table`):

    applied -> trial | rejected
    trial -> purchased | returned | expired | terminated
    purchased -> paid_up | in_arrears | terminated
    in_arrears -> purchased (cured) | paid_up | defaulted | terminated
    defaulted -> claim_filed | written_off
    claim_filed -> compensated | written_off (claim rejected)
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Case, F, Q, When
from django.db.models.lookups import LessThan
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition

from ..domain import clock, workdays
from ..domain.clock import today
from ..domain.money import ZERO, add_months
from ..domain.numbers import money_text
from ..domain.text import multi_line, single_line
from .base import MONEY, refuses_with
from .catalogue import Offer, Patent
from .parties import Enterprise, Institution
from .terms import DealTerms


def date_when(condition: Q, field: str) -> Case:
    """A row's date where `condition` holds, else NULL. Indexed as an expression, it is an index of
    the rows that count with statistics of its own, so a range over it costs what it returns: the
    sweep reads a book of millions of rows by the handful that are due (issue 25)."""
    return Case(When(condition, then=F(field)), output_field=models.DateField())


# A trial's last day, while it runs; an installment's effective due date, while it is due (not yet
# overdue) and while it is open (Installment.is_open). Each is an index of its model.
TRIAL_ENDS_ON = date_when(Q(state="trial"), "trial_end_effective")
DUE_ON = date_when(Q(state="due"), "effective_due_date")
OPEN_Q = Q(paid_amount__lt=F("amount")) | Q(report_pending=True)
OPEN_DUE_ON = date_when(OPEN_Q, "effective_due_date")


class LicenseQuerySet(models.QuerySet):
    def live(self) -> "LicenseQuerySet":
        return self.filter(state__in=License.LIVE_STATES)

    def overdue(self, on: date) -> "LicenseQuerySet":
        """License.is_overdue_on as SQL (its twin, tested to agree at the boundaries)."""
        return self.filter(License.overdue_q(on))

    def past_grace(self, on: date) -> "LicenseQuerySet":
        """License.grace_exceeded as SQL (its twin, tested to agree): in arrears, and the oldest
        unpaid installment overdue on `on` is more than the license's grace days old. That oldest
        one is the license's next due date, kept on its row (models/balances.py), whenever that
        is before `on`: a column compared, where a subquery read each license's installments."""
        in_arrears = self.filter(state=License.State.IN_ARREARS)
        graces = in_arrears.order_by().values_list("grace_days", flat=True).distinct()  # a handful of values
        past = Q(pk__in=[])
        for grace in graces:
            past |= Q(grace_days=grace, next_due_date__lt=on - timedelta(days=grace))
        return in_arrears.filter(past)

    def for_institution(self, institution: Institution) -> "LicenseQuerySet":
        return self.filter(institution=institution)


class License(ConcurrentTransitionMixin, DealTerms):
    """One SME's agreement on one offer, from application to the last payment (or default). Its
    terms (DealTerms) are copied from the offer when it is applied for, and the lifecycle reads
    them here: a later version of the offer never changes a contract."""

    class State(models.TextChoices):
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")
        TRIAL = "trial", _("In trial")
        RETURNED = "returned", _("Returned")
        EXPIRED = "expired", _("Expired")
        PURCHASED = "purchased", _("Purchased")
        IN_ARREARS = "in_arrears", _("In arrears")
        PAID_UP = "paid_up", _("Paid up")
        DEFAULTED = "defaulted", _("Defaulted")
        CLAIM_FILED = "claim_filed", _("Claim filed")
        COMPENSATED = "compensated", _("Compensated")
        WRITTEN_OFF = "written_off", _("Written off")
        TERMINATED = "terminated", _("Terminated")

    class Plan(models.TextChoices):
        LUMP_SUM = "lump_sum", _("Lump sum")
        INSTALLMENTS = "installments", _("Installments")

    # States in which the licensee holds (or is about to hold) the patent: exclusivity counts these.
    LIVE_STATES = (
        State.APPLIED,
        State.TRIAL,
        State.PURCHASED,
        State.IN_ARREARS,
        State.PAID_UP,
        State.DEFAULTED,
        State.CLAIM_FILED,
    )
    # States in which money is owed and payments are accepted.
    PAYABLE_STATES = (State.TRIAL, State.PURCHASED, State.IN_ARREARS)
    # States in which what is unpaid is still owed: the payable ones, and a default until the
    # claim is decided (the dashboard's outstanding and overdue, the work queue, the lists).
    OWED_STATES = (*PAYABLE_STATES, State.DEFAULTED, State.CLAIM_FILED)
    # Bought and running: new amounts may fall due (milestones, royalties) and reports are filed.
    BOUGHT_STATES = (State.PURCHASED, State.IN_ARREARS, State.PAID_UP)
    # Reached through a default, and only through a purchase (a free license is taken paid up).
    AFTER_DEFAULT_STATES = (State.DEFAULTED, State.CLAIM_FILED, State.COMPENSATED, State.WRITTEN_OFF)
    AFTER_PURCHASE_STATES = (*BOUGHT_STATES, *AFTER_DEFAULT_STATES)
    # Decided before any trial: the license has no trial dates.
    NO_TRIAL_STATES = (State.APPLIED, State.REJECTED)

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="licenses", verbose_name=_("offer"))
    # The licensor: the institution that owns the offer's patent, copied when applied for (it never
    # changes). Staff see their institution's licenses, and the rows that hang off them, by this one
    # indexed column instead of a join through the offer and its patent (issue 25).
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="licenses", verbose_name=_("licensor"), db_index=False
    )
    # The patents it covers, copied from the offer's package when applied for, like its terms.
    patents = models.ManyToManyField(
        Patent, through="LicensePatent", related_name="package_licenses", verbose_name=_("patents")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="licenses", verbose_name=_("enterprise"), db_index=False
    )
    state = FSMField(_("state"), default=State.APPLIED, choices=State.choices, protected=True, db_index=True)
    applied_at = models.DateTimeField(_("applied at"), default=clock.now, db_index=True)
    intended_use = models.TextField(_("intended use"), blank=True, max_length=2000, validators=[multi_line])
    contact = models.CharField(_("contact person and phone"), max_length=200, blank=True, validators=[single_line])
    trial_start = models.DateField(_("trial start"), null=True, blank=True)
    trial_end = models.DateField(_("trial end"), null=True, blank=True)
    # The contractual end moved to the next working day (weekends, statutory holidays).
    trial_end_effective = models.DateField(_("trial end (effective)"), null=True, blank=True, db_index=True)
    plan = models.CharField(_("payment plan"), max_length=20, choices=Plan.choices, blank=True)
    purchased_on = models.DateField(_("purchased on"), null=True, blank=True)
    # The day the license proper starts: what its schedule, deferral and report periods count from.
    # The purchase day until the contract's effective date is recorded (services.take_effect).
    takes_effect_on = models.DateField(_("takes effect on"), null=True, blank=True)
    # The day the trial ended, whatever ended it (purchase, return, expiry, termination): the
    # conversion figures count and date trials by it; purchased_on says whether it converted.
    trial_ended_on = models.DateField(_("trial ended on"), null=True, blank=True, db_index=True)
    defaulted_on = models.DateField(_("defaulted on"), null=True, blank=True)
    # Nothing but the trial fee falls due before this day (deferred start); None: no deferral.
    payments_start = models.DateField(_("payments start"), null=True, blank=True)
    # Money received beyond what was owed, used on what falls due next (CreditMovement).
    credit = models.DecimalField(_("credit (CNY)"), default=ZERO, **MONEY)
    # Kept by the database from the installments (models/balances.py): read, never written here.
    outstanding_amount = models.DecimalField(_("outstanding (CNY)"), default=ZERO, editable=False, **MONEY)
    next_due_date = models.DateField(_("next due (effective)"), null=True, blank=True, editable=False)

    objects = LicenseQuerySet.as_manager()

    class Meta:
        verbose_name = _("license")
        verbose_name_plural = _("licenses")
        ordering = ["-applied_at"]
        indexes = [
            models.Index(fields=["offer", "state"]),
            models.Index(TRIAL_ENDS_ON, name="license_trial_ends_on"),
            # The admin list's sorts, a page of a million rows read off an index (issue 25).
            models.Index(fields=["applied_at", "id"], name="license_applied_at"),
            models.Index(fields=["next_due_date", "id"], name="license_next_due"),
            models.Index(fields=["outstanding_amount", "id"], name="license_outstanding"),
            # The same, within one institution: a staff member's lists (and the key every scoped list joins by).
            models.Index(fields=["institution", "applied_at", "id"], name="license_of_applied_at"),
            models.Index(fields=["institution", "next_due_date", "id"], name="license_of_next_due"),
            models.Index(fields=["institution", "outstanding_amount", "id"], name="license_of_outstanding"),
            # An enterprise's licenses, and whether one is with a given institution; the enterprises an
            # institution deals with, read off the index alone (a staff member's enterprises).
            models.Index(fields=["enterprise", "institution"], name="license_enterprise_of"),
            models.Index(fields=["institution", "enterprise"], name="license_of_enterprise"),
            # The dashboard's days at a period's edges, read beside its monthly tallies (models/tallies.py).
            models.Index(fields=["purchased_on"], name="license_purchased_on"),
            models.Index(fields=["trial_start"], name="license_trial_start"),
        ]
        constraints = [models.CheckConstraint(condition=Q(credit__gte=0), name="license_credit_not_negative")]

    def __str__(self) -> str:
        return _("License #%(id)s") % {"id": self.pk}

    @property
    def deferral_ended_by_revenue(self) -> bool:
        """A deferral "N months or the first revenue" that the first revenue report ended early."""
        if not (self.deferred_until_revenue and self.payments_start and self.takes_effect_on):
            return False
        agreed = self.payments_start_after(self.takes_effect_on)
        return agreed is not None and self.payments_start < agreed

    @property
    def plan_name(self) -> str:
        """The plan as pages, emails and exports name it: the fee shape, and for a fixed price the
        way it is paid once bought ("Fixed price · Installments"); never "lump sum" for a royalty."""
        shape = self.fee_shape
        if self.price and self.plan:
            return f"{shape.label} · {self.get_plan_display()}"
        return str(shape.label)

    @property
    def holds_until(self) -> date | None:
        """The last day the licensee holds the patents if nothing changes: a trial's end, a bought
        license's term (or its last patent's expiry); None while the application awaits a decision."""
        if self.state == self.State.APPLIED:
            return None
        if self.state == self.State.TRIAL:
            return self.trial_end_effective
        return self.term_end or max((p.expiry_date for p in self.patents.all()), default=None)

    # -- facts the conditions read (from the installments already loaded by the service) --

    def _installments(self) -> list["Installment"]:
        return list(self.installments.all())

    @property
    def outstanding(self) -> Decimal:
        return sum((i.outstanding for i in self._installments()), ZERO)

    def oldest_overdue_due_date(self, on: date | None = None) -> date | None:
        """The effective due date of the oldest unpaid installment past it (grace counts from it)."""
        on = on or today()
        overdue = [i.effective_due_date for i in self._installments() if i.is_overdue_on(on)]
        return min(overdue, default=None)

    def is_overdue_on(self, on: date) -> bool:
        """Something owed on it is overdue on `on`: money or a report past its effective date, on a
        license whose unpaid amounts are still owed (License.overdue_q is its twin in SQL). What
        the work queue, the admin's overdue filter and the dashboard count."""
        return self.state in self.OWED_STATES and self.oldest_overdue_due_date(on) is not None

    @staticmethod
    def overdue_q(on: date) -> Q:
        """License.is_overdue_on as SQL: it still owes, and its next due date (the earliest open
        installment's, `Installment.objects.overdue` when before `on`) is before `on`: the column the
        database keeps (models/balances.py), indexed, where an EXISTS read the installments."""
        return Q(next_due_date__lt=on, state__in=License.OWED_STATES)

    @refuses_with(_("Nothing on this license is overdue."))
    def is_overdue(self) -> bool:
        return self.oldest_overdue_due_date() is not None

    @refuses_with(_("An installment of this license is still overdue."))
    def nothing_overdue(self) -> bool:
        return not self.is_overdue()

    @refuses_with(
        lambda lic: (
            _("%(outstanding)s remains to be paid.") % {"outstanding": lic.outstanding}
            if lic.outstanding
            else _("Reports for periods of the license's term are still to be filed.")
        )
    )
    def is_settled(self) -> bool:
        """Nothing left to pay, and no period's report still to come (its royalty is unknown)."""
        return not any(i.is_open for i in self._installments())

    @refuses_with(
        lambda lic: (
            ngettext(
                "The grace period of %(days)s day after the oldest overdue installment has not passed yet.",
                "The grace period of %(days)s days after the oldest overdue installment has not passed yet.",
                lic.grace_days,
            )
            % {"days": lic.grace_days}
        )
    )
    def grace_exceeded(self) -> bool:
        oldest = self.oldest_overdue_due_date()
        return oldest is not None and (today() - oldest).days > self.grace_days

    @refuses_with(lambda lic: _("The trial runs until %(date)s.") % {"date": lic.trial_end_effective})
    def trial_has_ended(self) -> bool:
        return self.trial_end_effective is not None and today() > self.trial_end_effective

    @staticmethod
    def trial_ended_q(on: date) -> Q:
        """In a trial whose effective end has passed on `on` with no decision (trial_has_ended's
        twin in SQL, with the state): what the sweep expires and the admin's filter lists."""
        return Q(LessThan(TRIAL_ENDS_ON, on))  # state trial and the end before `on`, by its index

    @property
    def awaits_contract(self) -> bool:
        """Bought, and no contract issued for it yet (awaits_contract_q is its twin in SQL): what
        the work queue lists to issue and the license page offers to issue."""
        return self.state in self.BOUGHT_STATES and not hasattr(self, "contract")

    @property
    def awaits_signature(self) -> bool:
        """Bought, and its contract issued but not signed yet (what the portal's badge says)."""
        contract = getattr(self, "contract", None)
        return self.state in self.BOUGHT_STATES and contract is not None and contract.state == "issued"

    @staticmethod
    def awaits_contract_q() -> Q:
        return Q(state__in=License.BOUGHT_STATES, contract__isnull=True)

    @refuses_with(_("This license has no insurance policy or guarantee to claim on."))
    def is_insured(self) -> bool:
        return hasattr(self, "insurance_policy")

    @refuses_with(_("An insurance claim is still open on this license: decide it first."))
    def has_rejected_claim_only(self) -> bool:
        from .insurance import InsuranceClaim  # a claim is on a license: imported on use

        return not self.claims.exclude(state=InsuranceClaim.State.REJECTED).exists()

    @staticmethod
    def trial_ending_q(on: date, days: int) -> Q:
        """In a trial whose effective end falls within `days` days from `on` (both included)."""
        return Q(state=License.State.TRIAL, trial_end_effective__range=(on, on + timedelta(days=days)))

    def accepts_payments(self) -> bool:
        """Money is owed and payments (recorded or reported) are accepted."""
        return self.state in self.PAYABLE_STATES

    def accepts_policy(self) -> bool:
        """A policy or guarantee can be registered until the license is bought or closed."""
        return self.state in (self.State.APPLIED, *self.PAYABLE_STATES) and not self.is_insured()

    def accepts_milestones(self) -> bool:
        """A milestone falls due only on a license that was bought: in a trial the SME has not
        agreed to pay."""
        return self.state in self.BOUGHT_STATES

    def accepts_reports(self) -> bool:
        """Royalty and use reports are filed, and accepted, on a bought license while it runs."""
        return self.state in self.BOUGHT_STATES

    def accepts_equity_conversion(self) -> bool:
        return self.equity_allowed and self.state in (self.State.PURCHASED, self.State.IN_ARREARS)

    @refuses_with(_("This license requires insurance or a guarantee: register the policy before the purchase."))
    def insurance_in_place_if_required(self) -> bool:
        return not self.insurance_required or self.is_insured()

    # -- transitions --

    @transition(field=state, source=State.APPLIED, target=State.TRIAL, custom={"label": _("Approve trial")})
    def approve(self, start: date) -> None:
        self.trial_start = start
        self.trial_end = add_months(start, self.trial_months)
        self.trial_end_effective = workdays.effective_date(self.trial_end)

    @transition(field=state, source=State.APPLIED, target=State.REJECTED, custom={"label": _("Reject")})
    def reject(self) -> None:
        pass

    @transition(
        field=state,
        source=State.TRIAL,
        target=State.PURCHASED,
        conditions=[insurance_in_place_if_required],
        custom={"label": _("Purchase")},
    )
    def purchase(self, plan: str, on: date) -> None:
        self.plan = plan
        self.purchased_on = self.takes_effect_on = on
        self.payments_start = self.payments_start_after(on)
        self.term_start = self.term_start or on  # the license proper runs from its purchase
        self.trial_ended_on = on

    @transition(field=state, source=State.TRIAL, target=State.RETURNED, custom={"label": _("Return")})
    def return_patent(self) -> None:
        self.trial_ended_on = today()

    @transition(
        field=state,
        source=State.TRIAL,
        target=State.EXPIRED,
        conditions=[trial_has_ended],
        custom={"label": _("Expire trial")},
    )
    def expire(self) -> None:
        self.trial_ended_on = self.trial_end_effective  # its last day, whenever the sweep noticed

    @transition(
        field=state,
        source=[State.PURCHASED, State.IN_ARREARS],
        target=State.PAID_UP,
        conditions=[is_settled],
        custom={"label": _("Mark paid up")},
    )
    def settle(self) -> None:
        pass

    @refuses_with(_("Nothing is owed on this license."))
    def owes_again(self) -> bool:
        return self.outstanding > ZERO

    @transition(
        field=state,
        source=State.PAID_UP,
        target=State.PURCHASED,
        conditions=[owes_again],
        custom={"label": _("New amount due")},
    )
    def reopen(self) -> None:
        pass

    @transition(
        field=state,
        source=State.PURCHASED,
        target=State.IN_ARREARS,
        conditions=[is_overdue],
        custom={"label": _("Mark in arrears")},
    )
    def fall_into_arrears(self) -> None:
        pass

    @transition(
        field=state,
        source=State.IN_ARREARS,
        target=State.PURCHASED,
        conditions=[nothing_overdue],
        custom={"label": _("Cure arrears")},
    )
    def cure(self) -> None:
        pass

    @transition(
        field=state,
        source=State.IN_ARREARS,
        target=State.DEFAULTED,
        conditions=[grace_exceeded],
        custom={"label": _("Declare default")},
    )
    def declare_default(self, on: date) -> None:
        self.defaulted_on = on

    @transition(
        field=state,
        source=State.DEFAULTED,
        target=State.CLAIM_FILED,
        conditions=[is_insured],
        custom={"label": _("File insurance claim")},
    )
    def file_claim(self) -> None:
        pass

    @transition(field=state, source=State.CLAIM_FILED, target=State.COMPENSATED, custom={"label": _("Compensate")})
    def compensate(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.DEFAULTED, State.CLAIM_FILED],
        target=State.WRITTEN_OFF,
        conditions=[has_rejected_claim_only],
        custom={"label": _("Write off")},
    )
    def write_off(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.TRIAL, State.PURCHASED, State.IN_ARREARS],
        target=State.TERMINATED,
        custom={"label": _("Terminate")},
    )
    def terminate(self) -> None:
        if self.state == self.State.TRIAL:
            self.trial_ended_on = today()


class InstallmentQuerySet(models.QuerySet):
    def open(self) -> "InstallmentQuerySet":
        """Installment.is_open as SQL: money unpaid, or a period whose report is still to come."""
        return self.filter(OPEN_Q)

    def overdue(self, on: date) -> "InstallmentQuerySet":
        """Installment.is_overdue_on as SQL: open, and its effective due date is before `on`."""
        return self.open().filter(effective_due_date__lt=on)

    def still_due_before(self, on: date) -> "InstallmentQuerySet":
        """In state due with its effective due date before `on`: what the sweep marks overdue
        (open ones), read by the `installment_due_on` index."""
        return self.alias(due_on=DUE_ON).filter(due_on__lt=on)

    def open_due_between(self, first: date, last: date) -> "InstallmentQuerySet":
        """Open (Installment.is_open), due from `first` to `last`: the windows of the sweep's
        reminders, read by the `installment_open_due_on` index."""
        return self.alias(open_due_on=OPEN_DUE_ON).filter(open_due_on__gte=first, open_due_on__lte=last)

    def open_due_on(self, days: list[date]) -> "InstallmentQuerySet":
        """Open, due on one of `days`: the rows whose notice came due today (the same index)."""
        return self.alias(open_due_on=OPEN_DUE_ON).filter(open_due_on__in=days)


class Installment(FSMModelMixin, models.Model):
    """One amount falling due on a day: a fee, an installment of the price, a milestone, or a
    period's royalty. A royalty period is an installment from the purchase on, with its amount
    unknown (0) and `report_pending` until its report is accepted: it falls overdue, and leads to
    arrears and default, like any unpaid installment."""

    class Kind(models.TextChoices):
        TRIAL_FEE = "trial_fee", _("Trial fee")
        ENTRY_FEE = "entry_fee", _("Entry fee")
        MILESTONE = "milestone", _("Milestone payment")
        PURCHASE = "purchase", _("Purchase installment")
        ROYALTY = "royalty", _("Royalty")
        ROYALTY_MINIMUM = "royalty_minimum", _("Minimum royalty shortfall")
        ROYALTY_ADJUSTMENT = "royalty_adjustment", _("Royalty adjustment (audit finding)")

    class State(models.TextChoices):
        DUE = "due", _("Due")
        OVERDUE = "overdue", _("Overdue")
        PAID = "paid", _("Paid")

    license = models.ForeignKey(
        License, on_delete=models.CASCADE, related_name="installments", verbose_name=_("license")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    sequence = models.PositiveSmallIntegerField(_("number"))
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    due_date = models.DateField(_("due date"))
    # The contractual due date moved to the next working day; deadlines and reminders use this.
    effective_due_date = models.DateField(_("due date (effective)"), db_index=True)
    paid_amount = models.DecimalField(_("paid (CNY)"), default=ZERO, **MONEY)
    state = FSMField(_("state"), default=State.DUE, choices=State.choices, protected=True, db_index=True)
    # A royalty period whose report is not accepted yet: its amount is not known, its deadline is.
    report_pending = models.BooleanField(_("report pending"), default=False)
    # The date the terms would give it, when a deferred start moved it later (License.payments_start).
    deferred_from = models.DateField(_("due without the deferral"), null=True, blank=True)

    objects = InstallmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        # Oldest first, as payments pay them; on one day the entry fee before the installments
        # ("entry_fee" < "purchase" < "trial_fee"), then by number.
        ordering = ["due_date", "kind", "sequence"]
        indexes = [
            models.Index(DUE_ON, name="installment_due_on"),
            models.Index(OPEN_DUE_ON, name="installment_open_due_on"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["license", "kind", "sequence"], name="installment_unique_number"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")),
                name="installment_paid_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sequence} · {money_text(self.amount)} · {self.due_date}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount

    def fall_due(self, due: date, payments_start: date | None) -> None:
        """Due on `due`, or on the day payments start when a deferral holds it back."""
        if payments_start and due < payments_start:
            self.due_date, self.deferred_from = payments_start, due
        else:
            self.due_date, self.deferred_from = due, None
        self.effective_due_date = workdays.effective_date(self.due_date)

    @property
    def is_open(self) -> bool:
        """Something is still owed on it: money, or the period's report (InstallmentQuerySet.open)."""
        return self.outstanding > ZERO or self.report_pending

    def is_overdue_on(self, on: date) -> bool:
        """Still open after its effective due date (InstallmentQuerySet.overdue): the day after it."""
        return self.is_open and self.effective_due_date < on

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.effective_due_date is None:
            self.effective_due_date = workdays.effective_date(self.due_date)
        super().save(*args, **kwargs)

    @refuses_with(
        lambda inst: (
            _("%(outstanding)s of this installment remains to be paid.") % {"outstanding": inst.outstanding}
            if inst.outstanding
            else _("The report for this period is not accepted yet.")
        )
    )
    def fully_paid(self) -> bool:
        return not self.is_open

    @transition(field=state, source=State.DUE, target=State.OVERDUE, custom={"label": _("Fall overdue")})
    def mark_overdue(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.DUE, State.OVERDUE],
        target=State.PAID,
        conditions=[fully_paid],
        custom={"label": _("Paid in full")},
    )
    def mark_paid(self) -> None:
        pass

    @refuses_with(_("Nothing remains to be paid on this installment."))
    def owes_something(self) -> bool:
        return self.is_open

    @transition(
        field=state,
        source=State.PAID,
        target=State.DUE,
        conditions=[owes_something],
        custom={"label": _("Amount raised")},
    )
    def owe_again(self) -> None:
        """A royalty report corrected upwards after its period was paid (the sweep marks it
        overdue again if its date has passed)."""


class LicensePatent(models.Model):
    """One patent a license covers (its copy of the offer's package)."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="patent_links")
    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="license_links")
    # Its part of the license's income before the distribution policy splits it (equal by default).
    weight = models.DecimalField(
        _("weight"), max_digits=7, decimal_places=2, default=Decimal(1), validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        verbose_name = _("patent of a license")
        verbose_name_plural = _("patents of a license")
        constraints = [models.UniqueConstraint(fields=["license", "patent"], name="license_patent_once")]

    def __str__(self) -> str:
        return str(self.patent)
