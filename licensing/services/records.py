"""Records kept by hand in the admin forms (patents, an offer's draft terms, institutions, staff,
reminder schedules): saved or deleted with their audit event, in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db import transaction
from django.db.models import Model

from ..models import AuditEvent, Patent
from . import _audit
from .matching import index_offers_of_patent

if TYPE_CHECKING:
    from django.contrib.auth.models import User

M = TypeVar("M", bound=Model)


@transaction.atomic
def save_record(*, obj: M, by: User | None, reason: str = "") -> M:
    """Save a new or edited object as its form left it; the event lists its fields from -> to."""
    if obj.pk is None or obj._state.adding:
        obj.save()
        fields = [f.attname for f in obj._meta.concrete_fields if f.editable and not f.primary_key]
        _audit.created(obj, by=by, fields=fields, reason=reason)
        return obj
    stored = type(obj)._base_manager.select_for_update().get(pk=obj.pk)
    before = _audit.snapshot(stored)
    obj.save()
    _audit.changed(obj, before, by=by, reason=reason)
    if isinstance(obj, Patent):  # its words and class are its offers' terms
        index_offers_of_patent(obj.pk)
    return obj


@transaction.atomic
def delete_record(*, obj: Model, by: User | None, reason: str = "") -> None:
    """Delete an object; its event keeps what it held, so the history still names it."""
    last = _audit.snapshot(obj)
    pk = obj.pk
    obj.delete()
    obj.pk = pk  # the event names the row that was
    _audit.record(
        AuditEvent.Action.DELETED,
        obj,
        by=by,
        changes={_audit.field_name(obj, name): [value, None] for name, value in last.items()},
        reason=reason,
    )
