from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from licensing.demo.identifiers import make_patent_number, make_uscc
from licensing.models import Enterprise, Institution, Offer, Patent, StaffProfile


def letters(n: int) -> str:
    """A, B, ... Z, BA, BB, ...: a contract number prefix for the n-th institution."""
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit] + out
        if not n:
            return out


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"University {n}")
    kind = Institution.Kind.UNIVERSITY
    contact_email = factory.Sequence(lambda n: f"tto{n}@univ.example")
    uscc = factory.Sequence(lambda n: make_uscc(20_000_000 + n))
    address = factory.Sequence(lambda n: f"{n} University Road, Haidian District, Beijing")
    legal_representative = "Wang Wei"
    contract_prefix = factory.Sequence(lambda n: "U" + letters(n))
    payee_name = factory.SelfAttribute("name")
    payee_bank = "Industrial and Commercial Bank of China, Haidian Branch"
    payee_account = factory.Sequence(lambda n: f"0200 0045 0900 {n:04d} 123")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.django.Password("pw-Secret-123")


class StaffProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffProfile

    user = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"Enterprise {n} Co., Ltd.")
    uscc = factory.Sequence(lambda n: make_uscc(10_000_000 + n))
    industry_section = "C"
    industry = Enterprise.Industry.INDUSTRY
    employees = 50
    annual_revenue = Decimal("1000")
    contact_email = factory.Sequence(lambda n: f"finance{n}@sme.example")
    language = "en"
    address = factory.Sequence(lambda n: f"{n} Industrial Park Road, Suzhou")
    legal_representative = "Li Ming"


class PatentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patent

    number = factory.Sequence(lambda n: make_patent_number(2019, 100_000 + n))
    title = factory.Sequence(lambda n: f"Method for catalytic process {n}")
    ipc_class = "C07C 1/00"
    owner = factory.SubFactory(InstitutionFactory)
    filing_date = date(2019, 3, 1)
    legal_status = Patent.LegalStatus.VALID


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    patent = factory.SubFactory(PatentFactory)
    state = Offer.State.PUBLISHED
    trial_months = 6
    trial_fee = Decimal("0.00")
    price = Decimal("100000.00")
    lump_sum_allowed = True
    installment_count = 3
    installment_interval_months = 6
    first_due_months = 12
    grace_days = 90
    license_type = "ordinary"


# employees and revenue (CNY 10,000) that put an industrial enterprise in each size class
SIZE_CLASS_FIGURES = {
    "micro": (10, Decimal("100")),
    "small": (50, Decimal("1000")),
    "medium": (400, Decimal("30000")),
    "large": (2000, Decimal("50000")),
}


def enterprise_of_size(size_class: str, **kwargs) -> Enterprise:
    employees, revenue = SIZE_CLASS_FIGURES[size_class]
    enterprise = EnterpriseFactory(industry="industry", employees=employees, annual_revenue=revenue, **kwargs)
    assert enterprise.size_class == size_class
    return enterprise


def ended_trials(offer, enterprise, *, ended: int, converted: int, ended_on: date) -> None:
    """Bulk-insert `ended` licenses whose trial ended on `ended_on`, `converted` of them bought.
    The bought ones spread over every state a purchase leads to, the others over every way a trial
    ends without one, so that a report must read the dates, not the states."""
    from itertools import cycle

    from licensing.models import License

    bought_states = cycle(["purchased", "paid_up", "in_arrears", "defaulted", "compensated", "terminated"])
    not_bought_states = cycle(["returned", "expired", "terminated"])
    start = date(ended_on.year - 1, ended_on.month, 1)
    License.objects.bulk_create(
        License(
            offer=offer,
            institution_id=offer.patent.owner_id,
            enterprise=enterprise,
            state=next(bought_states) if n < converted else next(not_bought_states),
            price=offer.price,
            trial_fee=offer.trial_fee,
            trial_start=start,
            trial_end=ended_on,
            trial_end_effective=ended_on,
            trial_ended_on=ended_on,
            plan="lump_sum" if n < converted else "",
            purchased_on=ended_on if n < converted else None,
        )
        for n in range(ended)
    )


# Issue 24's example policy: 10% service, then 70/15/0/15 of the net, no VAT.
EXAMPLE_POLICY = {
    "effective_from": date(2026, 1, 1),
    "service_rate": Decimal("0.10"),
    "vat_rate": Decimal("0"),
    "inventors_share": Decimal("0.70"),
    "college_share": Decimal("0.15"),
    "tto_share": Decimal("0"),
    "institution_share": Decimal("0.15"),
}
