"""What every service shares: locking a license, running a transition with a clear refusal, and
the checks of amounts, reasons and patents in force."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from .. import queue
from ..domain import clock
from ..domain.money import CENT, ZERO
from ..domain.numbers import parse_number
from ..domain.text import REASON_MAX_LENGTH, clean_multi_line
from ..models import (
    AuditEvent,
    Installment,
    Institution,
    License,
    Patent,
    Reminder,
    SystemReason,
    why_not,
)
from . import _audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _lock_license(license_id: int, *, schedule: bool = True) -> License:
    """Lock the license row and, with `schedule`, load its installments into the cache the
    transition conditions read (a service whose transitions read none saves the query). Every
    service that touches a schedule locks its license first, so that one lock serialises all
    changes to the license, its installments and its payments."""
    locked = License.objects.select_for_update(of=("self",)).select_related("offer__patent")
    return (locked.prefetch_related("installments") if schedule else locked).get(pk=license_id)


C = TypeVar("C", bound=Model)


def _lock_with_license(
    model: type[C], pk: int, *, schedule: bool = True, to_license: str = "license_id"
) -> tuple[License, C]:
    """Lock a row that hangs off a license (a claim, a conversion, a report) in the one order
    every service locks in: its license first, then the row. Two services working on the same
    license, one from the license and one from the row, then wait for each other instead of
    deadlocking."""
    license_id = model._default_manager.values_list(to_license, flat=True).get(pk=pk)
    lic = _lock_license(license_id, schedule=schedule)
    return lic, model._default_manager.select_for_update().get(pk=pk)


def _without_stale_schedule(lic: License) -> License:
    """Forget the schedule locked before installments were added, so callers read the new one."""
    getattr(lic, "_prefetched_objects_cache", {}).pop("installments", None)
    return lic


def _refused(message: str) -> ValidationError:
    return ValidationError(message, code="refused")


def _run(
    obj: Any,  # a model whose lifecycle is its FSM field `state`
    method_name: str,
    *args: Any,
    by: User | None = None,
    reason: str | SystemReason = "",
    before: dict[str, Any] | None = None,
    **kwargs: Any,
) -> AuditEvent:
    """Run a transition, save, and write its audit event: who, from which state to which, the
    fields it set (from -> to), why. A clear error when the state or a condition forbids it.
    `before`: a snapshot taken earlier, when the service changed fields before the transition.
    Returns the event (a hand-off notice is keyed by it)."""
    if not isinstance(reason, SystemReason):  # a person's words are checked; the system's are its own
        reason = clean_multi_line(reason, "reason", max_length=REASON_MAX_LENGTH)
    refusal = why_not(obj, method_name)  # the state, or the condition's own reason (models.refuses_with)
    if refusal:
        raise _refused(refusal)
    before = before if before is not None else _audit.snapshot(obj)
    source = obj.state
    getattr(obj, method_name)(*args, **kwargs)
    obj.save()
    changes = _audit.diff(before, obj)
    changes.pop("state", None)  # the event's own from -> to
    return _audit.record(
        AuditEvent.Action.TRANSITION,
        obj,
        by=by,
        changes=changes,
        reason=reason,
        transition=method_name,
        source_state=source,
        state=obj.state,
    )


def _require_reason(reason: str) -> str:
    reason = clean_multi_line(reason, "reason", max_length=REASON_MAX_LENGTH)
    if not reason:
        raise ValidationError({"reason": _("Give a reason: it is kept in the license history.")})
    return reason


MAX_VALUATION = Decimal("999999999999.99")  # what the valuation column holds


def _decimal(value: object, field: str) -> Decimal:
    """A number given to a service, read by the one parser (domain.numbers.parse_number)."""
    try:
        return parse_number(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def _applied_on(lic: License) -> date:
    return clock.local_date(lic.applied_at)


def _require_patent_in_force(patent: Patent, on: date) -> None:
    """Nothing is tried, bought or decided on a patent that is not in force on that day."""
    if not patent.is_in_force(on):
        raise _refused(
            _("Patent %(number)s is not in force on %(date)s (expired or no longer valid).")
            % {"number": patent.number, "date": on}
        )


def _require_package_in_force(patents: Iterable[Patent], on: date) -> list[Patent]:
    """Every patent of a package is in force on that day (the first that is not is named)."""
    patents = sorted(patents, key=lambda patent: patent.number)
    for patent in patents:
        _require_patent_in_force(patent, on)
    return patents


def _require_amount(amount: Decimal | int | str) -> Decimal:
    amount = _decimal(amount, "amount")
    if amount <= ZERO:
        raise ValidationError({"amount": _("The amount must be greater than zero.")})
    if amount > MAX_VALUATION:
        raise ValidationError({"amount": _("The amount must be at most %(max)s.") % {"max": f"{MAX_VALUATION:,}"}})
    if amount != amount.quantize(CENT):
        raise ValidationError({"amount": _("Amounts have at most two decimal places (fen).")})
    return amount


def _settle_license_if_done(lic: License, by: User | None) -> None:
    """After money or equity reduced what is owed: paid up, or back from arrears when cured."""
    if lic.state in (License.State.PURCHASED, License.State.IN_ARREARS) and lic.is_settled():
        _run(lic, "settle", by=by)
    elif lic.state == License.State.IN_ARREARS and not lic.is_overdue():
        _run(lic, "cure", by=by)


def _notify_once(
    kind: str,
    subject: Model,
    *,
    event: AuditEvent | None = None,
    license: License | None = None,
    institution: Institution | None = None,
    made_by: User | None = None,
) -> Reminder | None:
    """Tell the next person: a notice about one change (a claim filed, an application to decide,
    a report accepted), claimed once in the ledger and queued when the transaction commits.
    Keyed by the change's audit event, so a report disputed twice is told twice, and the same
    event never twice. A notice to the TTO names who `made_by` the change: what the TTO's own
    staff did (an application they registered, a report they entered) is not told back to it."""
    if made_by is not None and made_by.is_staff:
        return None
    lic = license if license is not None else subject if isinstance(subject, License) else None
    if lic is None and hasattr(subject, "license"):
        lic = subject.license
    if institution is None and lic is not None:
        institution = lic.offer.patent.owner
    reminder, _created = Reminder.objects.get_or_create(
        key=Reminder.key_for(kind, str(subject._meta.model_name), subject.pk, event.pk if event else 0),
        defaults={
            "kind": kind,
            "license": lic,
            "institution": institution,
            "subject_type": ContentType.objects.get_for_model(subject),
            "subject_id": subject.pk,
            "event": event,
            "offset_days": 0,
            "deadline": clock.today(),
        },
    )
    transaction.on_commit(lambda: queue.enqueue("licensing.send_reminder", reminder.pk))
    return reminder


def _pay_oldest_first(
    lic: License, amount: Decimal, *, by: User | None, reason: str | SystemReason
) -> list[tuple[Installment, Decimal]]:
    """Pay the license's unpaid installments, oldest first, with up to `amount`: what each took."""
    paid: list[tuple[Installment, Decimal]] = []
    remaining = amount
    for inst in lic.installments.all():
        if not remaining:
            break
        take = min(remaining, inst.outstanding)
        if take:
            _pay_into(inst, take, by=by, reason=reason)
            paid.append((inst, take))
            remaining -= take
    return paid


def _pay_into(inst: Installment, take: Decimal, *, by: User | None, reason: str | SystemReason) -> None:
    """Pay `take` into one installment, with its audit event; paid in full, it is marked paid."""
    before = _audit.snapshot(inst)
    inst.paid_amount += take
    if inst.outstanding == ZERO:
        _run(inst, "mark_paid", by=by, reason=reason, before=before)
    else:
        inst.save()
        _audit.changed(inst, before, by=by, reason=reason)
