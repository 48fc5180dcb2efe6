"""The license contract (专利实施许可合同): its number, and every version of its document.

A contract is issued for a bought license from the license's own copy of the terms. Its number is
the institution's, per year, gapless and never reused (JH-2026-0007: ContractNumberSeries); an
amendment is a new version under the same number, and every version stays downloadable."""

from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import clock
from ..domain.text import multi_line, single_line
from .base import new_token, private_storage, refuses_with
from .licenses import License
from .parties import Institution


class ContractNumberSeries(models.Model):
    """The last serial an institution issued in a year. Taking the next number locks this row in
    the transaction that issues the contract: two issues wait for each other, and an issue that
    rolls back gives its number back (no gap)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    last_serial = models.PositiveIntegerField(_("last serial issued"), default=0)

    class Meta:
        verbose_name = _("contract number series")
        verbose_name_plural = _("contract number series")
        constraints = [models.UniqueConstraint(fields=["institution", "year"], name="contract_series_once_a_year")]

    def __str__(self) -> str:
        return f"{self.institution} {self.year}: {self.last_serial}"


def signed_copy_path(contract: "Contract", filename: str) -> str:
    return f"contracts/{contract.institution_id}/{contract.number}/signed-{new_token()}.pdf"


class Contract(FSMModelMixin, models.Model):
    class State(models.TextChoices):
        ISSUED = "issued", _("Issued, awaiting signatures")
        SIGNED = "signed", _("Signed")

    license = models.OneToOneField(
        License, on_delete=models.PROTECT, related_name="contract", verbose_name=_("license")
    )
    # The licensor when it was issued: the number is this institution's.
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("institution")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    serial = models.PositiveIntegerField(_("serial"))
    number = models.CharField(_("contract number"), max_length=30, unique=True)
    state = FSMField(_("state"), default=State.ISSUED, choices=State.choices, protected=True, db_index=True)
    issued_at = models.DateTimeField(_("issued at"), default=clock.now)
    # The licensee's signed and sealed copy, uploaded in the portal; then the copy both parties
    # signed, uploaded by the TTO when it records the signing and the day the contract takes effect.
    licensee_copy = models.FileField(
        _("copy signed by the licensee"), upload_to=signed_copy_path, storage=private_storage, blank=True
    )
    licensee_signed_at = models.DateTimeField(_("licensee's copy uploaded at"), null=True, blank=True)
    signed_copy = models.FileField(
        _("copy signed by both parties"), upload_to=signed_copy_path, storage=private_storage, blank=True
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    # What the license's dates count from once signed: the deferral, the royalty periods, dated
    # milestones and the recordal's three months (services.contracts.record_signing).
    effective_on = models.DateField(_("takes effect on"), null=True, blank=True, db_index=True)
    # Technology-contract registration (技术合同认定登记) with the provincial technology market office:
    # without it the license fee is not exempt from VAT, and its invoices carry VAT.
    registration_number = models.CharField(
        _("technology-contract registration number"), max_length=40, blank=True, validators=[single_line]
    )
    registered_on = models.DateField(_("registered on"), null=True, blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-year", "-serial"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "year", "serial"], name="contract_serial_once"),
        ]

    def __str__(self) -> str:
        return self.number

    @staticmethod
    def number_for(prefix: str, year: int, serial: int) -> str:
        return f"{prefix}-{year}-{serial:04d}"

    # Days after it was issued that the licensee is asked to sign, while it has not uploaded its copy.
    SIGNATURE_REMINDER_DAYS = (7, 14, 30)

    @property
    def awaits_licensee(self) -> bool:
        """Issued, and the licensee has not uploaded its signed copy (awaits_licensee_q, its twin)."""
        return self.state == self.State.ISSUED and not self.licensee_copy

    @staticmethod
    def awaits_licensee_q() -> models.Q:
        return models.Q(state=Contract.State.ISSUED, licensee_copy="")

    @property
    def awaits_licensor(self) -> bool:
        """The licensee's signed copy is in; the TTO is to sign and record (awaits_licensor_q)."""
        return self.state == self.State.ISSUED and bool(self.licensee_copy)

    @staticmethod
    def awaits_licensor_q() -> models.Q:
        return models.Q(state=Contract.State.ISSUED) & ~models.Q(licensee_copy="")

    @property
    def vat_exempt(self) -> bool:
        """Registered as a technology contract: its fees are invoiced exempt from VAT (Caishui [2016]
        No. 36); otherwise VAT applies (unregistered_q is the twin, for the dashboard)."""
        return self.registered_on is not None

    @staticmethod
    def exempts(license_id: int) -> bool:
        """The license's fees are VAT-exempt: its contract is registered (one query)."""
        return Contract.objects.filter(license_id=license_id, registered_on__isnull=False).exists()

    @staticmethod
    def unregistered_q() -> models.Q:
        """Signed, and not registered as a technology contract: VAT applies to its fees."""
        return models.Q(state=Contract.State.SIGNED, registered_on__isnull=True)

    @refuses_with(_("Upload the copy signed and sealed by both parties first."))
    def has_signed_copy(self) -> bool:
        return bool(self.signed_copy)

    @transition(
        field=state,
        source=State.ISSUED,
        target=State.SIGNED,
        conditions=[has_signed_copy],
        custom={"label": _("Record the signing")},
    )
    def sign(self, signed_on: date, effective_on: date) -> None:
        self.signed_on, self.effective_on = signed_on, effective_on


def contract_document_path(version: "ContractVersion", filename: str) -> str:
    return f"contracts/{version.contract.institution_id}/{version.contract.number}/v{version.version}-{new_token()}.pdf"


class ContractVersion(models.Model):
    """One rendering of the contract: the first as issued, each later one an amendment. Never
    changed once written; its terms are kept beside the document (the recordal export and the
    amendment's comparison read them)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveSmallIntegerField(_("version"))
    document = models.FileField(_("document (PDF)"), upload_to=contract_document_path, storage=private_storage)
    sha256 = models.CharField(_("SHA-256 of the document"), max_length=64)
    terms = models.JSONField(_("terms of this version"), default=dict)
    reason = models.TextField(_("why this version"), blank=True, max_length=2000, validators=[multi_line])
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("contract version")
        verbose_name_plural = _("contract versions")
        ordering = ["contract", "version"]
        constraints = [models.UniqueConstraint(fields=["contract", "version"], name="contract_version_once")]

    def __str__(self) -> str:
        return _("%(number)s, version %(version)s") % {"number": self.contract.number, "version": self.version}

    @property
    def license_id(self) -> int:
        """The license its audit events belong to (services._audit reads `license_id`)."""
        return self.contract.license_id

    @property
    def filename(self) -> str:
        return f"{self.contract.number}-v{self.version}{Path(self.document.name or '').suffix or '.pdf'}"


class RecordalQuerySet(models.QuerySet):
    def late(self, on: date) -> "RecordalQuerySet":
        """Recordal.is_late_on as SQL (its twin): still to file after its deadline."""
        return self.filter(Recordal.late_q(on))


class Recordal(FSMModelMixin, models.Model):
    """A filing with CNIPA the contract owes (专利实施许可合同备案): the recordal within three months
    of the contract taking effect, a change recordal after an amendment, a cancellation when the
    contract ends early. Each is due three months after what gave rise to it."""

    MONTHS_TO_FILE = 3
    REMINDER_DAYS = (30, 7, 1)  # before the deadline, to the TTO

    class Kind(models.TextChoices):
        RECORDAL = "recordal", _("Recordal")
        CHANGE = "change", _("Change recordal")
        CANCELLATION = "cancellation", _("Cancellation recordal")

    class State(models.TextChoices):
        DUE = "due", _("To file")
        RECORDED = "recorded", _("Recorded")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="recordals")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    state = FSMField(_("state"), default=State.DUE, choices=State.choices, protected=True, db_index=True)
    arose_on = models.DateField(_("owed since"), help_text=_("The day the contract took effect, changed or ended."))
    due_by = models.DateField(_("file by"), db_index=True)
    recorded_on = models.DateField(_("recorded on"), null=True, blank=True)
    recordal_number = models.CharField(_("recordal number"), max_length=40, blank=True, validators=[single_line])

    objects = RecordalQuerySet.as_manager()

    class Meta:
        verbose_name = _("CNIPA recordal")
        verbose_name_plural = _("CNIPA recordals")
        ordering = ["due_by", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=models.Q(kind="recordal"), name="one_recordal_per_contract"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract.number} · {self.get_kind_display()}"

    @property
    def license_id(self) -> int:
        """The license its audit events belong to (services._audit reads `license_id`)."""
        return self.contract.license_id

    def is_late_on(self, on: date) -> bool:
        """Still to file after its deadline (Recordal.late_q is its twin in SQL)."""
        return self.state == self.State.DUE and self.due_by < on

    @staticmethod
    def late_q(on: date) -> models.Q:
        return models.Q(state=Recordal.State.DUE, due_by__lt=on)

    @transition(field=state, source=State.DUE, target=State.RECORDED, custom={"label": _("Record the filing")})
    def record(self, number: str, on: date) -> None:
        self.recordal_number, self.recorded_on = number, on
