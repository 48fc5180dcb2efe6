"""Audit events: changes that are not state transitions (those are in the transition log)."""

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .parties import Enterprise


class AuditEvent(models.Model):
    """A change that is not a state transition (those are in the transition log): who changed
    what on which object, from what to what, and why."""

    class Action(models.TextChoices):
        ENTERPRISE_CHANGED = "enterprise_changed", _("Enterprise details changed")
        ENTERPRISE_CREATED = "enterprise_created", _("Enterprise registered")
        MEMBER_SIGNED_UP = "member_signed_up", _("Member signed up")

    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("field: [from, to]"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} · {self.at:%Y-%m-%d %H:%M}"

    def readable_changes(self) -> list[tuple[str, str, str]]:
        """(field label, from, to) in the reader's language: labels and choices of the enterprise's
        own fields; fields that are not the enterprise's (e.g. a member's id) are not shown."""
        rows = []
        for name, (old, new) in self.changes.items():
            try:
                field = Enterprise._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            rows.append((str(field.verbose_name), self._readable(field, old), self._readable(field, new)))
        return rows

    @staticmethod
    def _readable(field, value) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        return str(value)
