"""The reminder ledger and each institution's reminder schedule."""

from datetime import datetime

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import clock
from .audit import AuditEvent
from .licenses import Installment, License
from .parties import Institution


def _offsets_validator(value: str) -> None:
    try:
        days = [int(part) for part in value.split(",")]
    except ValueError as exc:
        raise ValidationError(_("Enter whole numbers of days separated by commas, e.g. 30,7,1.")) from exc
    if any(d < 0 or d > 365 for d in days):
        raise ValidationError(_("Each offset must be between 0 and 365 days."))


class ReminderSchedule(models.Model):
    """When an institution's reminders go out, in days relative to each deadline."""

    DEFAULTS = {"trial_ending_days": "30,7,1", "installment_due_days": "14,3,0", "overdue_days": "1,7,30"}

    institution = models.OneToOneField(
        Institution, on_delete=models.CASCADE, related_name="reminder_schedule", verbose_name=_("institution")
    )
    trial_ending_days = models.CharField(
        _("days before the trial ends"),
        max_length=60,
        default=DEFAULTS["trial_ending_days"],
        validators=[_offsets_validator],
    )
    installment_due_days = models.CharField(
        _("days before an installment is due"),
        max_length=60,
        default=DEFAULTS["installment_due_days"],
        validators=[_offsets_validator],
    )
    overdue_days = models.CharField(
        _("days after an installment is overdue"),
        max_length=60,
        default=DEFAULTS["overdue_days"],
        validators=[_offsets_validator],
    )

    class Meta:
        verbose_name = _("reminder schedule")
        verbose_name_plural = _("reminder schedules")

    def __str__(self) -> str:
        return str(self.institution)

    @staticmethod
    def parse(value: str) -> list[int]:
        return sorted({int(part) for part in value.split(",")})


class Reminder(FSMModelMixin, models.Model):
    """The ledger of notices: one row per (what, which object, which offset or event), claimed
    before sending, so each notice goes out once however often the sweep runs. Reminders are
    claimed by the sweep before a deadline; hand-offs (an application to decide, a payment to
    confirm, a report accepted) by the service that made the change, keyed by its audit event.
    Who reads each kind, in which language, with which link: reminders/notices.py."""

    class Kind(models.TextChoices):
        TRIAL_ENDING = "trial_ending", _("Trial ending")
        INSTALLMENT_DUE = "installment_due", _("Installment due")
        OVERDUE = "overdue", _("Installment overdue")
        CLAIM_FILED = "claim_filed", _("Default and insurance claim")
        CLAIM_FILED_INSURER = "claim_filed_insurer", _("Insurance claim: notice to the insurer")
        OPEN_LICENCE_GRANTED = "open_licence_granted", _("License granted under an open licence")
        PATENT_LAPSED = "patent_lapsed", _("A patent of the license is no longer in force")
        PATENT_LAPSED_TTO = "patent_lapsed_tto", _("A patent of the license is no longer in force: notice to the TTO")
        USE_REPORT_DUE = "use_report_due", _("Use report due")
        USE_REPORT_LATE = "use_report_late", _("Use report late")
        # Hand-offs: somebody's turn, told when the change that makes it so commits.
        MEMBER_TO_APPROVE = "member_to_approve", _("New portal member to approve")
        MEMBER_APPROVED = "member_approved", _("Portal access approved")
        MEMBER_REVOKED = "member_revoked", _("Portal access revoked")
        APPLICATION_RECEIVED = "application_received", _("New application for a trial")
        TRIAL_STARTED = "trial_started", _("Application approved: trial started")
        APPLICATION_REJECTED = "application_rejected", _("Application rejected")
        PURCHASE_CONFIRMED = "purchase_confirmed", _("Purchase confirmed, with the schedule")
        PAYMENT_REPORTED = "payment_reported", _("Payment reported, to confirm")
        PAYMENT_CONFIRMED = "payment_confirmed", _("Payment confirmed")
        PAYMENT_REJECTED = "payment_rejected", _("Payment report rejected")
        PAYMENT_REVERSED = "payment_reversed", _("Payment reversed: owed again")
        REPORT_FILED = "report_filed", _("Royalty report filed, to accept")
        REPORT_ACCEPTED = "report_accepted", _("Royalty report accepted")
        REPORT_DISPUTED = "report_disputed", _("Royalty report disputed")
        AUDIT_ADJUSTMENT = "audit_adjustment", _("Royalty audit adjustment")
        EQUITY_PROPOSED = "equity_proposed", _("Equity conversion proposed")
        CONTRACT_ISSUED = "contract_issued", _("License contract issued, to sign")
        CONTRACT_SIGNED_BY_LICENSEE = "contract_signed_by_licensee", _("Contract signed by the licensee, to record")
        CONTRACT_SIGNED = "contract_signed", _("Contract signed: the license takes effect")
        CONTRACT_TO_SIGN = "contract_to_sign", _("Contract still to sign")
        CONTRACT_AMENDED = "contract_amended", _("Contract amended: a new version")
        RECORDAL_DUE = "recordal_due", _("CNIPA recordal due")
        INVOICE_REQUESTED = "invoice_requested", _("Invoice requested, to issue")
        INVOICE_ISSUED = "invoice_issued", _("Invoice issued")
        # Matching: an offer pushed to an enterprise that asked for fitting offers.
        OFFER_PUSHED = "offer_pushed", _("Offer pushed to a fitting enterprise")
        TRIAL_EXPIRED = "trial_expired", _("Trial ended with no decision: why not?")

    class State(models.TextChoices):
        # "Pending" is also a patent's legal status (审查中): the context tells them apart.
        PENDING = "pending", pgettext_lazy("reminder state", "Pending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    # The ledger's references carry no database constraint (db_constraint=False). The sweep writes
    # a day's notices in one INSERT … SELECT from the rows they are about, so each reference exists
    # by construction, and Django's delete cascades (on_delete) run as before; but a constraint is
    # checked row by row at commit and locks each referenced row (FOR KEY SHARE): at 1,000,000
    # licenses, 75,000 notices took 7.5 s with the checks and 2.4 s without (README, *The national
    # scale*). Sentry keeps its high-volume tables the same way.
    key = models.CharField(_("key"), max_length=100)
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    # Whose notice it is: the sender's name, the TTO's address, and who sees it in the admin.
    # Empty only for a sign-up that came to no institution's offer (the platform's to approve).
    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("institution"),
        db_constraint=False,
    )
    license = models.ForeignKey(
        License,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("license"),
        db_constraint=False,
    )
    # What it is about: the license, an installment, a report, a claim, a member…
    # Nothing looks a notice up by its subject's type alone: no index of its own.
    subject_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, related_name="+", db_constraint=False, db_index=False
    )
    subject_id = models.PositiveBigIntegerField(null=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    # The change a hand-off tells of (its reason is the notice's, e.g. why a report is disputed).
    # Indexed only where set (Meta.indexes): the sweep's notices have no event, most no installment.
    event = models.ForeignKey(
        AuditEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("event"),
        db_constraint=False,
        db_index=False,
    )
    installment = models.ForeignKey(
        Installment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("installment"),
        db_constraint=False,
        db_index=False,
    )
    offset_days = models.SmallIntegerField(_("offset (days)"))
    deadline = models.DateField(_("deadline"))
    state = FSMField(_("state"), default=State.PENDING, choices=State.choices, protected=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=clock.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    recipients = models.TextField(_("recipients"), blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="reminder_pending_due"),
            models.Index(fields=["-created_at", "-id"], name="reminder_newest_first"),  # as payment_newest_first
            models.Index(fields=["event"], condition=Q(event__isnull=False), name="reminder_of_event"),
            models.Index(
                fields=["installment"], condition=Q(installment__isnull=False), name="reminder_of_installment"
            ),
        ]
        # A constraint rather than unique=True: on PostgreSQL that adds a second (LIKE) index on the
        # key, which nothing searches and every claimed notice would pay for.
        constraints = [models.UniqueConstraint(fields=["key"], name="reminder_key_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.deadline} · {self.offset_days}"  # no query: inlines list many

    @staticmethod
    def key_for(kind: str, model_name: str, pk: int, offset: int) -> str:
        """The ledger key: what, for which object, at which offset (a hand-off: which event)."""
        return f"{kind}:{model_name}:{pk}:{offset}"

    @staticmethod
    def key_expression(kind: str, model_name: str, pk: Combinable, offset: Combinable) -> Concat:
        """key_for as an SQL expression over columns, for claiming notices in one INSERT … SELECT."""
        text = models.CharField()
        return Concat(Value(f"{kind}:{model_name}:"), Cast(pk, text), Value(":"), Cast(offset, text))

    @transition(field=state, source=State.PENDING, target=State.SENT)
    def mark_sent(self, recipients: list[str], at: datetime) -> None:
        self.sent_at = at
        self.recipients = ", ".join(recipients)

    @transition(field=state, source=State.PENDING, target=State.CANCELLED)
    def cancel(self, why: str) -> None:
        self.last_error = why

    def record_failure(self, error: str, retry_at: datetime) -> None:
        self.attempts += 1
        self.last_error = error[:2000]
        self.next_attempt_at = retry_at


class SweepMark(models.Model):
    """The moment the first claim of a business day began. A day's notices change only with the
    day, or when a license changes: the later sweeps of that day claim only for licenses with an
    audit event since, and the next day's first sweep for those and for the deadlines that meet
    an offset that day (reminders/sweep.py), so a sweep costs what changed and what came due, not
    the book. Every change goes through a service and is an audit event; a write that is not (a
    bulk load) clears the marks (`SweepMark.forget`), so the next sweep claims for the whole book,
    as it does when a day was missed and at least every week (`complete_on`)."""

    day = models.DateField(_("business day"), unique=True)
    claimed_from = models.DateTimeField(_("complete claim began at"))
    # The last audit event then: later events count as changes whatever moment they record (a demo
    # story replayed on its own days, a clock moved in a test).
    last_event = models.BigIntegerField(_("last audit event then"), default=0)
    # The day of the last complete claim (the whole book) in the chain of days up to this one.
    complete_on = models.DateField(_("last complete claim on"), null=True)

    class Meta:
        verbose_name = _("sweep mark")
        verbose_name_plural = _("sweep marks")

    def __str__(self) -> str:
        return str(self.day)

    @classmethod
    def forget(cls) -> None:
        cls.objects.all().delete()
