"""Spreadsheets of the book built in the background."""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from ..domain import clock
from .base import new_token, private_storage
from .parties import Institution


def export_path(export: "Export", filename: str) -> str:
    return f"exports/{export.pk}-{new_token()}{Path(filename).suffix.lower()}"


class Export(FSMModelMixin, models.Model):
    """A spreadsheet of the book built in the background (a large XLSX takes a while), with its
    progress. Its scope is fixed when it is requested: one institution, or all for a superuser."""

    class Kind(models.TextChoices):
        LICENSES = "licenses", _("Licenses")
        INSTALLMENTS = "installments", _("Payment schedules")
        PAYMENTS = "payments", _("Payments")
        CLAIMS = "claims", _("Insurance claims")
        ROYALTY_REPORTS = "royalty_reports", _("Royalty and use reports")
        RECORDALS = "recordals", _("Contracts for CNIPA recordal")
        INVOICES = "invoices", _("Invoices")
        DISTRIBUTION = "distribution", _("Revenue distribution ledger")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    state = FSMField(_("state"), default=State.QUEUED, choices=State.choices, protected=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("institution")
    )
    ipc_section = models.CharField(_("IPC section"), max_length=1, blank=True)
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to=export_path, storage=private_storage, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), default=clock.now)
    # Moves with every batch written: a running export whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.state == self.State.DONE else 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @transition(field=state, source=[State.QUEUED, State.RUNNING], target=State.RUNNING)
    def start(self, rows_total: int, at: datetime) -> None:
        self.rows_total = rows_total
        self.rows_done = 0
        self.heartbeat_at = at

    @transition(field=state, source=State.RUNNING, target=State.DONE)
    def finish(self, at: datetime) -> None:
        self.rows_done = self.rows_total or 0
        self.finished_at = at

    @transition(field=state, source=[State.QUEUED, State.RUNNING], target=State.FAILED)
    def fail(self, error: str, at: datetime) -> None:
        self.error = error[:2000]
        self.finished_at = at
