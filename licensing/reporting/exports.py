"""The data exports: the book as rows (licenses, payment schedules, payments, claims), within a
BookFilter. Headers are the models' own field labels, in the reader's language; the rows come
from the selectors in chunks, so an export of a million installments holds one chunk at a time."""

from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..models import Enterprise, Export, Installment, InsuranceClaim, InsurancePolicy, License, Patent, Payment
from .tables import Column, Table

CHUNK = 2000


def _column(model, name: str, kind: str = "text") -> Column:
    field = model._meta.get_field(name)
    return Column(field.verbose_name, kind, dict(field.flatchoices) if field.choices else {})


LICENSE_ID = Column(_("license no."), "count")
PATENT_NUMBER = _column(Patent, "number")
ENTERPRISE = Column(_("enterprise"))

COLUMNS = {
    Export.Kind.LICENSES: [
        LICENSE_ID,
        PATENT_NUMBER,
        _column(Patent, "title"),
        _column(Patent, "ipc_class"),
        Column(_("institution")),
        ENTERPRISE,
        _column(Enterprise, "uscc"),
        _column(Enterprise, "size_class"),
        _column(License, "state"),
        _column(License, "applied_at", "datetime"),
        _column(License, "trial_start", "date"),
        _column(License, "trial_end", "date"),
        _column(License, "trial_end_effective", "date"),
        _column(License, "trial_ended_on", "date"),
        _column(License, "plan"),
        _column(License, "purchased_on", "date"),
        _column(License, "price", "money"),
        _column(License, "trial_fee", "money"),
        Column(_("outstanding (CNY)"), "money"),
        Column(_("next due"), "date"),
        _column(License, "defaulted_on", "date"),
    ],
    Export.Kind.INSTALLMENTS: [
        LICENSE_ID,
        PATENT_NUMBER,
        ENTERPRISE,
        Column(_("license state"), "text", dict(License.State.choices)),
        _column(Installment, "kind"),
        _column(Installment, "sequence", "count"),
        _column(Installment, "amount", "money"),
        _column(Installment, "due_date", "date"),
        _column(Installment, "effective_due_date", "date"),
        _column(Installment, "paid_amount", "money"),
        _column(Installment, "state"),
    ],
    Export.Kind.PAYMENTS: [
        _column(Payment, "paid_on", "date"),
        _column(Payment, "amount", "money"),
        _column(Payment, "reference"),
        LICENSE_ID,
        PATENT_NUMBER,
        ENTERPRISE,
        _column(Payment, "recorded_by"),
        _column(Payment, "recorded_at", "datetime"),
    ],
    Export.Kind.CLAIMS: [
        Column(_("claim no."), "count"),
        LICENSE_ID,
        PATENT_NUMBER,
        ENTERPRISE,
        _column(InsurancePolicy, "insurer"),
        _column(InsurancePolicy, "policy_number"),
        _column(InsurancePolicy, "coverage_ratio", "ratio"),
        _column(InsuranceClaim, "state"),
        _column(InsuranceClaim, "filed_on", "date"),
        _column(InsuranceClaim, "outstanding_at_filing", "money"),
        _column(InsuranceClaim, "claimed_amount", "money"),
        _column(InsuranceClaim, "paid_amount", "money"),
    ],
}

ROWS = {
    Export.Kind.LICENSES: selectors.export_licenses,
    Export.Kind.INSTALLMENTS: selectors.export_installments,
    Export.Kind.PAYMENTS: selectors.export_payments,
    Export.Kind.CLAIMS: selectors.export_claims,
}

# Licenses and schedules are the book as it stands; payments and claims happen on a day, so
# the period applies to them.
DATED = {Export.Kind.PAYMENTS, Export.Kind.CLAIMS}


def export_table(kind: str, book: selectors.BookFilter) -> Table:
    return Table(kind, Export.Kind(kind).label, COLUMNS[kind], ROWS[kind](book).iterator(chunk_size=CHUNK))


def export_row_count(kind: str, book: selectors.BookFilter) -> int:
    return ROWS[kind](book).order_by().count()


def book_of(export: Export) -> selectors.BookFilter:
    return selectors.BookFilter(
        institution=export.institution,
        ipc_section=export.ipc_section,
        date_from=export.date_from,
        date_to=export.date_to,
    )
