"""Invoices (fapiao) for payments: the SME asks for one per payment, with the buyer's details
(remembered for the next request); the TTO's finance office issues it in the tax system and records
it here (number, day, kind, VAT) with its PDF. A fee under a registered technology contract is
invoiced exempt from VAT on an ordinary invoice; otherwise VAT applies (Caishui [2016] No. 36)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..domain import clock, windows
from ..domain.text import clean_single_line
from ..models import Contract, InvoiceProfile, InvoiceRequest, Payment, Reminder
from ..receipts import validate_invoice
from . import _audit
from ._runner import _decimal, _lock_license, _lock_with_license, _notify_once, _refused, _run

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_VAT_RATE = Decimal("0.13")  # the highest VAT rate in China


def vat_exempt(payment: Payment) -> bool:
    """Its license's contract is registered as a technology contract: no VAT on its fees."""
    return Contract.exempts(payment.license_id)


@transaction.atomic
def request_invoice(*, payment_id: int, details: dict[str, Any], by: User) -> InvoiceRequest:
    """A member of the paying enterprise asks for the payment's invoice, once; the details are
    kept as the enterprise's for its next request, and the TTO is told."""
    license_id = Payment.objects.values_list("license_id", flat=True).get(pk=payment_id)
    lic = _lock_license(license_id, schedule=False)
    payment = Payment.objects.get(pk=payment_id)
    member = getattr(by, "enterprise_member", None)
    if member is None or member.enterprise_id != lic.enterprise_id:
        raise _refused(_("Only a member of the paying enterprise asks for its invoice."))
    if payment.state == Payment.State.REVERSED:
        raise _refused(_("This payment was reversed: no invoice is issued for it."))
    if InvoiceRequest.objects.filter(payment=payment).exists():
        raise _refused(_("The invoice for this payment was asked for already."))
    request = InvoiceRequest(payment=payment, license=lic, requested_by=by, requested_at=clock.now())
    for name in InvoiceRequest.FIELDS:
        setattr(request, name, details.get(name, ""))
    request.full_clean(exclude=["payment", "license", "requested_by", "state"])
    request.save()
    requested = _audit.created(request, by=by, fields=InvoiceRequest.FIELDS)
    InvoiceProfile.objects.update_or_create(
        enterprise_id=lic.enterprise_id, defaults={name: getattr(request, name) for name in InvoiceRequest.FIELDS}
    )
    _notify_once(Reminder.Kind.INVOICE_REQUESTED, request, event=requested, license=lic, made_by=by)
    return request


@transaction.atomic
def record_invoice(
    *,
    request_id: int,
    invoice_number: str,
    issued_on: date,
    kind: str,
    vat_rate: Decimal | str | None,
    document: Any,
    by: User | None,
) -> InvoiceRequest:
    """The finance office records the invoice it issued: exempt (no rate) only on an ordinary
    invoice under a registered technology contract; otherwise a VAT rate up to 13%."""
    _lic, request = _lock_with_license(InvoiceRequest, request_id, schedule=False)
    errors: dict[str, str] = {}
    exempt = vat_rate in (None, "")
    rate = None if exempt else _decimal(vat_rate, "vat_rate") / 100  # typed as a percentage: 6 for 6%
    if exempt and not vat_exempt(request.payment):
        errors["vat_rate"] = _(
            "VAT applies: this license's contract is not registered as a technology contract. Enter the rate."
        )
    if rate is not None and not Decimal("0") < rate <= MAX_VAT_RATE:
        errors["vat_rate"] = _("Enter the VAT rate as a percentage above 0 and at most 13.")
    if exempt and kind == InvoiceRequest.Kind.SPECIAL:
        errors["kind"] = _("A VAT-exempt fee is invoiced on an ordinary VAT invoice, not a special one.")
    if kind not in InvoiceRequest.Kind.values:
        errors["kind"] = _("Choose the kind of invoice.")
    if errors:
        raise ValidationError(errors)
    windows.require_within(issued_on, "issued_on", clock.local_date(request.requested_at), clock.today())
    if not document:
        raise ValidationError({"document": _("Upload the invoice as a PDF file.")})
    try:
        validate_invoice(document)
    except ValidationError as exc:
        raise ValidationError({"document": exc.messages}) from exc
    number = clean_single_line(invoice_number, "invoice_number", max_length=40, required=True)
    before = _audit.snapshot(request)
    request.document.save(f"invoice-{request.pk}.pdf", document, save=False)
    issued = _run(request, "issue", number, issued_on, kind, rate, by=by, before=before)
    _notify_once(Reminder.Kind.INVOICE_ISSUED, request, event=issued, license=request.license)
    return request
