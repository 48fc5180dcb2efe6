"""Writing the audit trail. Services call these inside their transaction, after the change is
saved: a change that rolls back takes its event with it, and nothing is audited that did not
happen (as Zulip's `do_*` functions write their RealmAuditLog row, and Saleor's actions their
OrderEvent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from ..models import AuditEvent, Enterprise, EnterpriseMember, EnterpriseNeeds, Feedback, License, SystemReason

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def plain(value: Any) -> Any:
    """A value as the audit row keeps it (JSON): money as text, so no fen is lost to a float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.fields.files.FieldFile):
        return bool(value)  # that a file is there, never its private path
    return value


# Fields whose values are secrets: their events say that they changed, never what to.
SECRET_FIELDS = frozenset({"calendar_token", "password"})
HIDDEN = "…"


def snapshot(obj: models.Model, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """The object's own field values now (foreign keys as ids), to compare after a change. Values
    are kept as they are (Decimal("100") equals Decimal("100.00")) and made plain when written."""
    names = fields or [f.attname for f in obj._meta.concrete_fields if not f.primary_key]
    return {name: _value(obj, name) for name in names}


def _value(obj: models.Model, name: str) -> Any:
    if name in SECRET_FIELDS:
        return HIDDEN if getattr(obj, name) else ""
    value = getattr(obj, name)
    return bool(value) if isinstance(value, models.fields.files.FieldFile) else value


def diff(before: dict[str, Any], obj: models.Model) -> dict[str, list[Any]]:
    """{field: [from, to]} of the fields that changed since `snapshot`. Foreign keys are named
    by field (`offer`, not `offer_id`), as the readers look them up."""
    changes = {}
    for attname, old in before.items():
        new = _value(obj, attname)
        if new != old:
            changes[field_name(obj, attname)] = [old, new]
    return changes


def field_name(obj: models.Model, attname: str) -> str:
    for field in obj._meta.concrete_fields:
        if field.attname == attname:
            return field.name
    return attname


def record(
    action: str,
    obj: models.Model,
    *,
    by: User | None = None,
    changes: dict[str, Any] | None = None,
    reason: str | SystemReason = "",
    transition: str = "",
    source_state: str = "",
    state: str = "",
) -> AuditEvent:
    """One audit event on `obj`, tied to the license and the enterprise it belongs to so that their
    pages find it in one indexed read."""
    return AuditEvent.objects.create(
        action=action,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        license_id=obj.pk if isinstance(obj, License) else getattr(obj, "license_id", None),
        enterprise_id=_enterprise_id(obj),
        by=by if getattr(by, "pk", None) else None,
        changes={name: [plain(old), plain(new)] for name, (old, new) in (changes or {}).items()},
        reason="" if isinstance(reason, SystemReason) else reason or "",
        reason_code=reason.message if isinstance(reason, SystemReason) else "",
        reason_values={k: plain(v) for k, v in reason.values.items()} if isinstance(reason, SystemReason) else {},
        transition=transition,
        source_state=source_state,
        state=state,
    )


def trail(obj: models.Model) -> models.QuerySet[AuditEvent]:
    """The events on one object, newest first."""
    return AuditEvent.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk).order_by(
        "-at", "-pk"
    )


def _enterprise_id(obj: models.Model) -> int | None:
    """Events on the enterprise itself and its members show on its page; its licenses have their own."""
    if isinstance(obj, Enterprise):
        return obj.pk
    if isinstance(obj, EnterpriseMember | EnterpriseNeeds | Feedback):
        return obj.enterprise_id
    return None


def created(
    obj: models.Model, *, by: User | None = None, fields: Sequence[str] = (), reason: str | SystemReason = ""
) -> AuditEvent:
    """A new object, with the values of `fields` it starts with."""
    return record(
        AuditEvent.Action.CREATED,
        obj,
        by=by,
        changes={field_name(obj, name): [None, _value(obj, name)] for name in fields},
        reason=reason,
    )


def changed(
    obj: models.Model, before: dict[str, Any], *, by: User | None = None, reason: str | SystemReason = ""
) -> AuditEvent | None:
    """The fields that changed since `before` (a `snapshot`); nothing when none did."""
    changes = diff(before, obj)
    if not changes:
        return None
    return record(AuditEvent.Action.CHANGED, obj, by=by, changes=changes, reason=reason)
