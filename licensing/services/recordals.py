"""CNIPA recordals a contract owes: the first when it takes effect, a cancellation when it ends
early (and a change recordal when it is amended), each due three months on; the TTO records the
filing's number and day."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction

from ..domain import clock, windows
from ..domain.money import add_months
from ..domain.text import clean_single_line
from ..models import Contract, License, Recordal, SystemReason
from . import _audit
from ._runner import _lock_with_license, _run

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RECORDAL_FIELDS = ("kind", "arose_on", "due_by")


def owe_recordal(
    contract: Contract, kind: str, on: date, *, by: User | None, reason: str | SystemReason = ""
) -> Recordal:
    """The contract owes a recordal of `kind` from `on`: due MONTHS_TO_FILE months later."""
    recordal = Recordal.objects.create(
        contract=contract, kind=kind, arose_on=on, due_by=add_months(on, Recordal.MONTHS_TO_FILE)
    )
    _audit.created(recordal, by=by, fields=RECORDAL_FIELDS, reason=reason)
    return recordal


def owe_cancellation_if_recorded(lic: License, on: date, *, by: User | None, reason: str | SystemReason) -> None:
    """A license that ends early (terminated, in default, written off) with a recorded contract owes
    its cancellation, once; one whose recordal was never filed owes none."""
    recorded = Recordal.objects.filter(
        contract__license=lic, kind=Recordal.Kind.RECORDAL, state=Recordal.State.RECORDED
    ).select_related("contract")
    first = recorded.first()
    if first is not None and not first.contract.recordals.filter(kind=Recordal.Kind.CANCELLATION).exists():
        owe_recordal(first.contract, Recordal.Kind.CANCELLATION, on, by=by, reason=reason)


@transaction.atomic
def record_recordal(*, recordal_id: int, recordal_number: str, recorded_on: date, by: User | None) -> Recordal:
    """The TTO filed it: CNIPA's number for it and the day it was recorded."""
    _lic, recordal = _lock_with_license(Recordal, recordal_id, schedule=False, to_license="contract__license_id")
    number = clean_single_line(recordal_number, "recordal_number", max_length=40, required=True)
    windows.require_within(recorded_on, "recorded_on", recordal.arose_on, clock.today())
    _run(recordal, "record", number, recorded_on, by=by)
    return recordal
