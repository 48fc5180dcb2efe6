"""The audit trail: every change, written by the service that makes it, in the same transaction.

One row per change: who, when, what (created, changed, a state transition, deleted), on which
object, its fields from -> to, and why. A license's page reads its own events and those of
everything that hangs off it (installments, payments, reports, claims, conversions) through
`license`; an enterprise's page reads its own and its members' through `enterprise`.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..domain import clock
from ..domain.numbers import money_text, percent
from .base import is_fraction, is_money, transition_label
from .licenses import License
from .parties import Enterprise


def person_name(user: Any) -> str:
    """A person as the trail names them: full name, else the login."""
    return user.get_full_name() or user.get_username()


@dataclass(frozen=True)
class SystemReason:
    """A reason the system writes (a trial expired, a version replaced): kept as its message and
    values, and worded in the reader's language when read, not in the language of whoever or
    whatever caused it. Its message is marked with gettext_noop where it is written."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        words = gettext(self.message)
        return words % self.values if self.values else words


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        TRANSITION = "transition", _("State changed")
        DELETED = "deleted", _("Deleted")

    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField(_("object id"))
    subject = GenericForeignKey("content_type", "object_id")
    # What the object was called then: a deleted object is still named in its history.
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    license = models.ForeignKey(License, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events")
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
    at = models.DateTimeField(_("at"), default=clock.now)
    transition = models.CharField(_("transition"), max_length=50, blank=True)
    source_state = models.CharField(_("from state"), max_length=30, blank=True)
    state = models.CharField(_("to state"), max_length=30, blank=True)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("field: [from, to]"))
    reason = models.TextField(_("reason"), blank=True)  # a person's words, as written
    reason_code = models.CharField(
        _("system reason"), max_length=300, blank=True, db_default=""
    )  # SystemReason.message
    reason_values = models.JSONField(_("system reason's values"), null=True, blank=True, default=dict)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"], name="audit_subject_newest_first"),
            models.Index(fields=["license", "-at"], name="audit_license_newest_first"),
            models.Index(fields=["at"], name="audit_at"),  # what changed since a moment: the sweep's mark
            models.Index(fields=["enterprise", "-at"], name="audit_enterprise_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.what} · {self.at:%Y-%m-%d %H:%M}"

    @property
    def model(self) -> type[models.Model] | None:
        return ContentType.objects.get_for_id(self.content_type_id).model_class()  # cached per process

    @property
    def why(self) -> str:
        """The reason in the reader's language: a person's words as written, the system's worded now."""
        if self.reason_code:
            return str(SystemReason(self.reason_code, self.reason_values or {}))
        return self.reason

    @property
    def by_name(self) -> str:
        """Who, by name (a person's full name, else the login); the system when no one."""
        return str(_("system")) if self.by is None else person_name(self.by)

    @property
    def what(self) -> str:
        """'Approve trial: License #12', 'Created: 3,000.00 · 2026-08-01 · ICBC-7': the verb in the
        reader's language, the object as it was named when the event was written."""
        model = self.model
        if self.action == self.Action.TRANSITION and model is not None and hasattr(model, self.transition):
            verb = transition_label(getattr(model, self.transition))
        else:
            verb = self.get_action_display()
        return f"{verb}: {self.object_repr}" if self.object_repr else str(verb)

    def state_labels(self) -> tuple[str, str]:
        """(from, to) state labels of a transition, in the reader's language."""
        field = self.model._meta.get_field("state") if self.model else None
        labels = dict(getattr(field, "flatchoices", ()))
        return str(labels.get(self.source_state, self.source_state)), str(labels.get(self.state, self.state))

    def readable_changes(self) -> list[tuple[str, str, str]]:
        """(field label, from, to) in the reader's language, with the labels and choices of the
        object's own fields; what is not one of its fields is not shown. A related object is named
        when the page looked the names up (selectors.name_related: one query per kind), else "#id"."""
        model = self.model
        names = self.__dict__.get("related_names", {})
        rows = []
        for name, (old, new) in self.changes.items():
            if old in (None, "") and new in (None, ""):
                continue  # created empty: nothing to read
            try:
                field = model._meta.get_field(name) if model else None
            except FieldDoesNotExist:
                continue
            if not isinstance(field, models.Field):
                continue  # not one of its own fields (a reverse relation, or the model is gone)
            rows.append((str(field.verbose_name), self._readable(field, old, names), self._readable(field, new, names)))
        return rows

    def related_keys(self) -> list[tuple[Any, Any]]:
        """(related model, pk) of every related object its changes name: what name_related looks up."""
        model = self.model
        keys = []
        for name, values in self.changes.items():
            try:
                field = model._meta.get_field(name) if model else None
            except FieldDoesNotExist:
                continue
            if isinstance(field, models.ForeignKey):
                keys += [(field.related_model, value) for value in values if value not in (None, "")]
        return keys

    @staticmethod
    def _readable(field: Any, value: Any, names: dict | None = None) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(field, models.ForeignKey):
            return (names or {}).get((field.related_model, value)) or f"#{value}"
        if isinstance(field, models.DateTimeField) and isinstance(value, str):  # stored as ISO, in UTC
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
            return f"{clock.local_time(moment):%Y-%m-%d %H:%M}"
        if isinstance(value, list):  # a set of things, e.g. the patents of a package
            return ", ".join(str(item) for item in value) or "—"
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if is_fraction(field):
            return percent(value)
        if is_money(field):
            return money_text(Decimal(value))
        return str(value)
