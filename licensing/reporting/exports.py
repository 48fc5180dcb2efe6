"""The data exports: the book as rows (licenses, payment schedules, payments, claims), within a
BookFilter. Headers are the models' own field labels, in the reader's language; the rows come
from the selectors in chunks, so an export of a million installments holds one chunk at a time."""

from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..models import (
    Allocation,
    AllocationLine,
    Contract,
    Enterprise,
    Export,
    FeeShape,
    Installment,
    InsuranceClaim,
    InsurancePolicy,
    Inventor,
    InvoiceRequest,
    License,
    Patent,
    Payment,
    Recordal,
    RoyaltyReport,
)
from ..replica import read_alias
from .tables import Column, Table

CHUNK = 2000


def _column(model, name: str, kind: str = "text") -> Column:
    field = model._meta.get_field(name)
    return Column(field.verbose_name, kind, dict(field.flatchoices) if field.choices else {})


LICENSE_ID = Column(_("license no."), "count")
PATENT_NUMBER = _column(Patent, "number")
ENTERPRISE = Column(_("enterprise"))

# Each export's columns, each with the value it reads (a path from the row's model): one spec, so a
# header and its values cannot drift apart.
SPEC: dict[str, list[tuple[str, Column]]] = {
    Export.Kind.LICENSES: [
        ("pk", LICENSE_ID),
        ("offer__patent__number", Column(_("lead patent"))),
        ("package_size", Column(_("patents"), "count")),
        ("patent_numbers", Column(_("patent numbers"))),
        ("offer__patent__title", _column(Patent, "title")),
        ("offer__patent__ipc_class", _column(Patent, "ipc_class")),
        ("institution__name", Column(_("institution"))),
        ("enterprise__name", ENTERPRISE),
        ("enterprise__uscc", _column(Enterprise, "uscc")),
        ("enterprise__size_class", _column(Enterprise, "size_class")),
        ("contact", _column(License, "contact")),
        ("enterprise__contact_email", _column(Enterprise, "contact_email")),
        ("state", _column(License, "state")),
        ("license_type", _column(License, "license_type")),
        ("open_licence", Column(_("open licence"), "text", {True: _("yes"), False: _("no")})),
        ("territory", _column(License, "territory")),
        ("field_of_use", _column(License, "field_of_use")),
        ("term_start", _column(License, "term_start", "date")),
        ("term_end", _column(License, "term_end", "date")),
        ("applied_at", _column(License, "applied_at", "datetime")),
        ("trial_start", _column(License, "trial_start", "date")),
        ("trial_end", _column(License, "trial_end", "date")),
        ("trial_end_effective", _column(License, "trial_end_effective", "date")),
        ("trial_ended_on", _column(License, "trial_ended_on", "date")),
        ("fee", Column(_("fee"), "text", dict(FeeShape.choices))),
        ("fixed_price_plan", Column(_("payment plan of the price"), "text", dict(License.Plan.choices))),
        ("purchased_on", _column(License, "purchased_on", "date")),
        ("price", _column(License, "price", "money")),
        ("trial_fee", _column(License, "trial_fee", "money")),
        ("outstanding_amount", Column(_("outstanding (CNY)"), "money")),
        ("next_due_date", Column(_("next due"), "date")),
        ("defaulted_on", _column(License, "defaulted_on", "date")),
    ],
    Export.Kind.INSTALLMENTS: [
        ("license_id", LICENSE_ID),
        ("license__offer__patent__number", PATENT_NUMBER),
        ("license__enterprise__name", ENTERPRISE),
        ("license__state", Column(_("license state"), "text", dict(License.State.choices))),
        ("kind", _column(Installment, "kind")),
        ("sequence", _column(Installment, "sequence", "count")),
        ("amount", _column(Installment, "amount", "money")),
        ("due_date", _column(Installment, "due_date", "date")),
        ("effective_due_date", _column(Installment, "effective_due_date", "date")),
        ("paid_amount", _column(Installment, "paid_amount", "money")),
        ("state", _column(Installment, "state")),
        ("report_pending", Column(_("report pending"), "text", {True: _("yes"), False: _("no")})),
        ("deferred_from", _column(Installment, "deferred_from", "date")),
    ],
    Export.Kind.PAYMENTS: [
        ("paid_on", _column(Payment, "paid_on", "date")),
        ("amount", _column(Payment, "amount", "money")),
        ("reference", _column(Payment, "reference")),
        ("license_id", LICENSE_ID),
        ("license__offer__patent__number", PATENT_NUMBER),
        ("license__enterprise__name", ENTERPRISE),
        ("recorded_by__username", _column(Payment, "recorded_by")),
        ("recorded_at", _column(Payment, "recorded_at", "datetime")),
        ("state", _column(Payment, "state")),
        ("reversed_at", _column(Payment, "reversed_at", "datetime")),
        ("reversal_reason", _column(Payment, "reversal_reason")),
    ],
    Export.Kind.CLAIMS: [
        ("pk", Column(_("claim no."), "count")),
        ("license_id", LICENSE_ID),
        ("license__offer__patent__number", PATENT_NUMBER),
        ("license__enterprise__name", ENTERPRISE),
        ("policy__insurer", _column(InsurancePolicy, "insurer")),
        ("policy__policy_number", _column(InsurancePolicy, "policy_number")),
        ("policy__coverage_ratio", _column(InsurancePolicy, "coverage_ratio", "ratio")),
        ("state", _column(InsuranceClaim, "state")),
        ("filed_on", _column(InsuranceClaim, "filed_on", "date")),
        ("outstanding_at_filing", _column(InsuranceClaim, "outstanding_at_filing", "money")),
        ("claimed_amount", _column(InsuranceClaim, "claimed_amount", "money")),
        ("paid_amount", _column(InsuranceClaim, "paid_amount", "money")),
    ],
    Export.Kind.ROYALTY_REPORTS: [
        ("license_id", LICENSE_ID),
        ("license__offer__patent__number", PATENT_NUMBER),
        ("license__enterprise__name", ENTERPRISE),
        ("license__royalty_base", _column(License, "royalty_base")),
        ("license__royalty_rates", _column(License, "royalty_rates")),
        ("period_start", _column(RoyaltyReport, "period_start", "date")),
        ("period_end", _column(RoyaltyReport, "period_end", "date")),
        ("due_date", _column(RoyaltyReport, "due_date", "date")),
        ("state", _column(RoyaltyReport, "state")),
        ("base_amount", _column(RoyaltyReport, "base_amount", "money")),
        ("units", _column(RoyaltyReport, "units", "count")),
        ("royalty", _column(RoyaltyReport, "royalty", "money")),
        ("filed_at", _column(RoyaltyReport, "filed_at", "datetime")),
        ("installment__paid_amount", Column(_("paid (CNY)"), "money")),
        ("dispute_reason", _column(RoyaltyReport, "dispute_reason")),
    ],
    Export.Kind.RECORDALS: [
        ("number", _column(Contract, "number")),
        ("state", _column(Contract, "state")),
        ("signed_on", _column(Contract, "signed_on", "date")),
        ("effective_on", _column(Contract, "effective_on", "date")),
        ("institution__name", Column(_("licensor"))),
        ("institution__uscc", Column(_("licensor's USCC"))),
        ("institution__address", Column(_("licensor's address"))),
        ("license__enterprise__name", Column(_("licensee"))),
        ("license__enterprise__uscc", Column(_("licensee's USCC"))),
        ("license__enterprise__address", Column(_("licensee's address"))),
        ("package_size", Column(_("patents"), "count")),
        ("patents", Column(_("each patent: number title (filed / granted)"))),
        ("license__license_type", _column(License, "license_type")),
        ("license__takes_effect_on", Column(_("term from"), "date")),
        ("license__term_end", Column(_("term to (agreed)"), "date")),
        ("last_expiry", Column(_("last patent expires"), "date")),
        ("license__entry_fee", _column(License, "entry_fee", "money")),
        ("license__price", _column(License, "price", "money")),
        ("license__royalty_base", _column(License, "royalty_base")),
        ("license__royalty_rates", _column(License, "royalty_rates")),
        ("license__royalty_minimum", _column(License, "royalty_minimum", "money")),
        ("recordal_state", Column(_("recordal"), "text", dict(Recordal.State.choices))),
        ("recordal_due_by", Column(_("file by"), "date")),
        ("recordal_number", _column(Recordal, "recordal_number")),
        ("recordal_recorded_on", _column(Recordal, "recorded_on", "date")),
    ],
    Export.Kind.INVOICES: [
        ("license_id", LICENSE_ID),
        ("license__enterprise__name", ENTERPRISE),
        ("payment__paid_on", _column(Payment, "paid_on", "date")),
        ("payment__amount", _column(Payment, "amount", "money")),
        ("payment__reference", _column(Payment, "reference")),
        ("buyer_name", _column(InvoiceRequest, "buyer_name")),
        ("taxpayer_number", _column(InvoiceRequest, "taxpayer_number")),
        ("address_phone", _column(InvoiceRequest, "address_phone")),
        ("bank_account", _column(InvoiceRequest, "bank_account")),
        ("email", _column(InvoiceRequest, "email")),
        ("requested_at", _column(InvoiceRequest, "requested_at", "datetime")),
        ("exempt", Column(_("VAT-exempt (registered technology contract)"), "text", {True: _("yes"), False: _("no")})),
        ("state", _column(InvoiceRequest, "state")),
        ("invoice_number", _column(InvoiceRequest, "invoice_number")),
        ("issued_on", _column(InvoiceRequest, "issued_on", "date")),
        ("kind", _column(InvoiceRequest, "kind")),
        ("vat_rate", _column(InvoiceRequest, "vat_rate", "ratio")),
    ],
    Export.Kind.DISTRIBUTION: [
        ("received_on", _column(AllocationLine, "received_on", "date")),
        ("allocation__license_id", LICENSE_ID),
        ("allocation__license__enterprise__name", ENTERPRISE),
        ("allocation__source", _column(Allocation, "source")),
        ("allocation__fee_kind", _column(Allocation, "fee_kind")),
        ("allocation__amount", Column(_("amount received (CNY)"), "money")),
        ("allocation__vat_exempt", Column(_("VAT-exempt"), "text", {True: _("yes"), False: _("no")})),
        ("patent__number", PATENT_NUMBER),
        ("party", _column(AllocationLine, "party")),
        ("inventor__name", _column(Inventor, "name")),
        ("inventor__staff_number", _column(Inventor, "staff_number")),
        ("college", _column(AllocationLine, "college")),
        ("amount", _column(AllocationLine, "amount", "money")),
    ],
}
COLUMNS = {kind: [column for _path, column in spec] for kind, spec in SPEC.items()}

ROWS = {
    Export.Kind.LICENSES: selectors.export_licenses,
    Export.Kind.INSTALLMENTS: selectors.export_installments,
    Export.Kind.PAYMENTS: selectors.export_payments,
    Export.Kind.CLAIMS: selectors.export_claims,
    Export.Kind.ROYALTY_REPORTS: selectors.export_royalty_reports,
    Export.Kind.RECORDALS: selectors.export_recordals,
    Export.Kind.INVOICES: selectors.export_invoices,
    Export.Kind.DISTRIBUTION: selectors.export_distribution,
}

# Licenses and schedules are the book as it stands; payments and claims happen on a day, and
# reports fall due on one, so the period applies to them.
DATED = {
    Export.Kind.PAYMENTS,
    Export.Kind.CLAIMS,
    Export.Kind.ROYALTY_REPORTS,
    Export.Kind.RECORDALS,
    Export.Kind.INVOICES,
    Export.Kind.DISTRIBUTION,
}


def export_rows(kind: str, book: selectors.BookFilter):
    """The export's rows as tuples of the values its SPEC names, in its columns' order."""
    return ROWS[kind](book).using(read_alias()).values_list(*(path for path, _column in SPEC[kind]))


def export_table(kind: str, book: selectors.BookFilter) -> Table:
    return Table(kind, Export.Kind(kind).label, COLUMNS[kind], export_rows(kind, book).iterator(chunk_size=CHUNK))


def export_row_count(kind: str, book: selectors.BookFilter) -> int:
    return ROWS[kind](book).using(read_alias()).order_by().count()


def book_of(export: Export) -> selectors.BookFilter:
    return selectors.BookFilter(
        institution=export.institution,
        ipc_section=export.ipc_section,
        date_from=export.date_from,
        date_to=export.date_to,
    )
