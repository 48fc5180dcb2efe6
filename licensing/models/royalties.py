"""Royalty and use reports: what the licensee reports for each period of its term. A royalty
license's period is an installment from the purchase on (`Installment.report_pending`); the report
gives its base, the TTO accepts it, and the royalty computed on it becomes that installment's
amount. A license with use reports only (a free one, say) files them with no amounts."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain.clock import local_date, today
from ..domain.money import ZERO
from ..domain.royalties import MAX_BASE
from .base import MONEY, new_token, private_storage
from .licenses import Installment, License

MAX_UNITS = 10**12


def attachment_path(report: "RoyaltyReport", filename: str) -> str:
    return f"reports/{report.license_id}/{new_token()}{Path(filename).suffix.lower()}"


class RoyaltyReport(FSMModelMixin, models.Model):
    class State(models.TextChoices):
        EXPECTED = "expected", _("To be filed")
        FILED = "filed", _("Filed, awaiting acceptance")
        DISPUTED = "disputed", _("Disputed by the TTO")
        ACCEPTED = "accepted", _("Accepted")

    license = models.ForeignKey(
        License, on_delete=models.CASCADE, related_name="royalty_reports", verbose_name=_("license")
    )
    # The period's payment (royalty licenses); none for a use report without amounts.
    installment = models.OneToOneField(
        Installment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="report",
        verbose_name=_("installment"),
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    due_date = models.DateField(_("report due"), db_index=True)
    state = FSMField(_("state"), default=State.EXPECTED, choices=State.choices, protected=True, db_index=True)
    base_amount = models.DecimalField(
        _("base (CNY)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(MAX_BASE)],
        help_text=_("Net sales or profit of the period, as the terms say; 0 for a period without any."),
        max_digits=16,
        decimal_places=2,
    )
    units = models.PositiveBigIntegerField(
        _("units"), null=True, blank=True, validators=[MaxValueValidator(MAX_UNITS)], help_text=_("Optional.")
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    attachment = models.FileField(
        _("attachment"), upload_to=attachment_path, storage=private_storage, blank=True, max_length=200
    )
    royalty = models.DecimalField(_("royalty (CNY)"), null=True, blank=True, **MONEY)
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("filed by"),
    )
    dispute_reason = models.TextField(_("why the TTO disputes it"), blank=True)

    class Meta:
        verbose_name = _("royalty or use report")
        verbose_name_plural = _("royalty and use reports")
        ordering = ["license", "period_start"]
        indexes = [models.Index(fields=["due_date", "id"], name="royalty_report_due")]  # the admin's list
        constraints = [
            models.UniqueConstraint(fields=["license", "period_start"], name="report_once_per_period"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="report_period_order"),
        ]

    # Reports still to come from the licensee: never filed, or disputed and to be corrected.
    TO_FILE = (State.EXPECTED, State.DISPUTED)
    # Its royalty is due (filed is a self-assessment, accepted confirms it): the caps count these.
    ROYALTY_DUE = (State.FILED, State.ACCEPTED)

    def __str__(self) -> str:
        return _("Report %(start)s – %(end)s") % {"start": self.period_start, "end": self.period_end}

    @staticmethod
    def late_q(on: date) -> Q:
        """A report past its due date and still to come, of a license that runs (what the work
        queue, the admin's late filter and the dashboard count)."""
        return Q(state__in=RoyaltyReport.TO_FILE, due_date__lt=on, license__state__in=License.BOUGHT_STATES)

    def is_late(self, on: date) -> bool:
        """late_q's twin, for one report."""
        return self.state in self.TO_FILE and self.due_date < on and self.license.state in License.BOUGHT_STATES

    @property
    def filed_late(self) -> bool:
        """Filed (last) after its due date, by the Beijing calendar."""
        return self.filed_at is not None and local_date(self.filed_at) > self.due_date

    def state_in_words(self, on: date) -> str:
        """The state as the licensee and the officer read it: a nil report says so, a late one too."""
        if self.state == self.State.ACCEPTED and self.is_nil:
            words = str(_("Nil report accepted"))
        elif self.state == self.State.DISPUTED:
            words = f"{self.get_state_display()}: {self.dispute_reason}"
        else:
            words = str(self.get_state_display())
        if self.is_late(on):
            return _("%(state)s · late: it was due %(due)s") % {"state": words, "due": self.due_date.isoformat()}
        if self.filed_at is not None and self.filed_late and self.state in self.ROYALTY_DUE:
            return _("%(state)s · filed late, on %(day)s") % {
                "state": words,
                "day": local_date(self.filed_at).isoformat(),
            }
        return words

    @property
    def period_has_ended(self) -> bool:
        """A period is reported once it has ended (its last day's sales are known)."""
        return self.period_end < today()

    def accepts_filing(self) -> bool:
        """The licensee may file, or correct, it now: the period has ended and it is not accepted."""
        return self.period_has_ended and self.state != self.State.ACCEPTED

    @property
    def is_nil(self) -> bool:
        return self.base_amount == ZERO

    @property
    def is_use_report(self) -> bool:
        return self.installment_id is None

    @transition(
        field=state,
        source=[State.EXPECTED, State.FILED, State.DISPUTED],
        target=State.FILED,
        custom={"label": _("File the report")},
    )
    def file(self, base: Decimal | None, units: int | None, note: str, royalty: Decimal | None, at: datetime) -> None:
        """Filed, or corrected until the TTO accepts it; `royalty` is what it computes to now."""
        self.base_amount, self.units, self.note, self.royalty, self.filed_at = base, units, note, royalty, at
        self.dispute_reason = ""

    @transition(field=state, source=State.FILED, target=State.ACCEPTED, custom={"label": _("Accept the report")})
    def accept(self, royalty: Decimal | None) -> None:
        self.royalty = royalty

    @transition(field=state, source=State.FILED, target=State.DISPUTED, custom={"label": _("Dispute the report")})
    def dispute(self, reason: str) -> None:
        self.dispute_reason = reason
