"""Issue 24 in the admin: the finance office records inventors, their shares and the policy, sees
what it owes each inventor and college for a year, prepares a payout batch, exports it for payroll
or the bank and marks it paid; staff of another institution see none of it."""

import csv
import datetime as dt
import io
from decimal import Decimal as D

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from licensing import services
from licensing.models import (
    Allocation,
    AuditEvent,
    DistributionPolicy,
    Inventor,
    InventorShareSet,
    PayoutBatch,
)
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory

OWED_PAGE_QUERIES = 11  # constant in the size of the book: grouped sums, not one query per payee


@pytest.fixture
def tto(staff):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client = Client()
    client.force_login(staff)
    return client


def bought_for(institution, staff, clock, price="100000.00"):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=D(price), installment_count=0)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    clock("2026-07-31")
    return services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)


def test_the_finance_office_answers_what_it_owes_each_inventor_and_pays_it(tto, institution, staff, clock):
    lic = bought_for(institution, staff, clock)
    patent = lic.offer.patent
    for name, college in (('=HYPERLINK("http://x")', "Chemistry"), ("Wang Fang", "Physics")):
        response = tto.post(
            reverse("admin:licensing_inventor_add"),
            {"institution": institution.pk, "name": name, "college": college, "staff_number": "", "email": ""},
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
    hostile, wang = Inventor.objects.order_by("name")
    assert AuditEvent.objects.filter(content_type__model="inventor", action="created").count() == 2

    shares_url = reverse("admin:licensing_inventorshareset_add")
    form = {"patent": patent.pk, "effective_from": "2026-01-01", "reason": "Filed by both"}
    bad = tto.post(
        shares_url, {**form, "inventor_1": hostile.pk, "share_1": "0.6", "inventor_2": wang.pk, "share_2": "0.3"}
    )
    assert bad.status_code == 200 and "份额合计为 90.00%：合计必须恰好为 100%" in bad.content.decode()  # in zh
    assert not InventorShareSet.objects.exists()
    ok = tto.post(
        shares_url, {**form, "inventor_1": hostile.pk, "share_1": "0.6", "inventor_2": wang.pk, "share_2": "0.4"}
    )
    assert ok.status_code == 302 and InventorShareSet.objects.get().shares.count() == 2
    patent_page = tto.get(reverse("admin:licensing_patent_change", args=[patent.pk])).content.decode()
    assert "Wang Fang 40.00%" in patent_page and "2026-01-01" in patent_page
    form = tto.get(f"{shares_url}?patent={patent.pk}").context["adminform"].form
    assert form.initial["patent"] == str(patent.pk)

    policy_url = reverse("admin:licensing_distributionpolicy_add")
    policy = {
        "institution": institution.pk,
        "effective_from": "2026-01-01",
        "vat_rate": "0",
        "tax_rate": "0",
        "service_rate": "0.1",
        "inventors_share": "0.3",
        "college_share": "0.2",
        "tto_share": "0",
        "institution_share": "0.5",
        "equity_inventors_share": "0.5",
        "rule_document": "",
    }
    below = tto.post(policy_url, policy)
    assert below.status_code == 200 and "不低于一半的净收入和一半的股权" in below.content.decode()
    assert (
        tto.post(
            policy_url, {**policy, "inventors_share": "0.7", "college_share": "0.15", "institution_share": "0.15"}
        ).status_code
        == 302
    )
    assert DistributionPolicy.objects.get().service_rate == D("0.1")

    services.record_payment(
        license_id=lic.pk,
        amount="100000.00",
        paid_on=dt.date(2026, 7, 31),
        reference="B-1",
        idempotency_key="k",
        by=staff,
    )
    owed = tto.get(reverse("admin:licensing_owed") + "?year=2026")
    page = owed.content.decode()
    # 100,000.00 - 10% service = 90,000.00 net; 70% to the team = 63,000.00 (60/40); 15% to the colleges
    assert "37,800.00" in page and "25,200.00" in page and "8,100.00" in page and "5,400.00" in page
    assert "=HYPERLINK(&quot;http://x&quot;)" in page  # escaped, never markup
    assert reverse("admin:licensing_inventor_statement", args=[wang.pk, 2026]) in page  # a name opens the statement

    batch_url = reverse("admin:licensing_payoutbatch_add")
    assert (
        tto.post(batch_url, {"institution": institution.pk, "payee": "inventors", "up_to": "2026-08-01"}).status_code
        == 200
    )
    assert (
        tto.post(batch_url, {"institution": institution.pk, "payee": "inventors", "up_to": "2026-07-31"}).status_code
        == 302
    )
    batch = PayoutBatch.objects.get()
    assert (batch.total, batch.items.count()) == (D("63000.00"), 2)
    again = tto.post(batch_url, {"institution": institution.pk, "payee": "inventors", "up_to": "2026-07-31"})
    assert again.status_code == 200 and "没有应付给发明人的金额" in again.content.decode()  # none in two batches

    rows = list(
        csv.reader(
            io.StringIO(
                tto.get(reverse("admin:licensing_payoutbatch_download", args=[batch.pk, "csv"]))
                .getvalue()
                .decode("utf-8-sig")
            )
        )
    )
    assert rows[1:] == [
        [str(batch.pk), '\'=HYPERLINK("http://x")', "Chemistry", "", "37800.00"],
        [str(batch.pk), "Wang Fang", "Physics", "", "25200.00"],
    ]
    xlsx = tto.get(reverse("admin:licensing_payoutbatch_download", args=[batch.pk, "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.getvalue())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert [row[1] for row in values] == ['=HYPERLINK("http://x")', "Wang Fang"]
    assert sheet.cell(row=2, column=2).data_type == "s"  # a string, never a formula

    paid = tto.post(
        reverse("admin:licensing_payoutbatch_act", args=[batch.pk, "mark_paid"]),
        {"paid_on": "2026-07-31", "reference": "PAYROLL-2026-07"},
    )
    assert paid.status_code == 302
    batch.refresh_from_db()
    assert (batch.state, batch.reference) == ("paid", "PAYROLL-2026-07")
    page = tto.get(reverse("admin:licensing_owed") + "?year=2026").content.decode()
    assert "63,000.00" in page  # paid in 2026, and owed now 0.00 for each inventor

    # Every page of it opens, its numbers read as people read them.
    allocation = Allocation.objects.get()
    for name, pk in (
        ("payoutbatch", batch.pk),
        ("distributionpolicy", DistributionPolicy.objects.get().pk),
        ("inventorshareset", InventorShareSet.objects.get().pk),
        ("allocation", allocation.pk),
        ("inventor", wang.pk),
    ):
        assert tto.get(reverse(f"admin:licensing_{name}_change", args=[pk])).status_code == 200, name
    for name in ("payoutbatch", "distributionpolicy", "inventorshareset", "allocation", "inventor", "patentcost"):
        assert tto.get(reverse(f"admin:licensing_{name}_changelist")).status_code == 200, name
        if name in ("payoutbatch", "distributionpolicy", "inventorshareset", "inventor", "patentcost"):
            assert tto.get(reverse(f"admin:licensing_{name}_add")).status_code == 200, name
    ledger = tto.get(reverse("admin:export_csv", args=["distribution"]))
    rows = list(csv.reader(io.StringIO(b"".join(ledger.streaming_content).decode("utf-8-sig"))))
    assert sum(D(row[-1]) for row in rows[1:]) == D("100000.00")  # the ledger's lines: all of the money
    assert sorted(row[8] for row in rows[1:]) == sorted(
        ["技术转移机构服务费", "发明人", "发明人", "学院", "学院", "机构"]
    )
    for hostile in ("²", "99999", "-1"):  # a year no one can mean: the list as it is, never a 500
        assert tto.get(reverse("admin:licensing_allocation_changelist"), {"year": hostile}).status_code == 200
        assert tto.get(reverse("admin:licensing_owed"), {"year": hostile}).status_code == 200
    policy_page = tto.get(
        reverse("admin:licensing_distributionpolicy_change", args=[DistributionPolicy.objects.get().pk])
    )
    assert "70%" in policy_page.content.decode()  # a fraction read as a percentage


def test_staff_of_another_institution_see_none_of_it(client, two_institutions, clock):
    a, b = two_institutions["A"], two_institutions["B"]
    inventor = Inventor.objects.create(institution=a["patent"].owner, name="Li Wei", college="Chemistry")
    services.set_inventor_shares(
        patent_id=a["patent"].pk, shares=[(inventor.pk, "1")], effective_from=dt.date(2026, 9, 1), by=a["user"]
    )
    clock("2026-09-02")
    services.record_payment(
        license_id=a["license"].pk,
        amount="500.00",
        paid_on=dt.date(2026, 9, 2),
        reference="A-2",
        idempotency_key="a2",
        by=a["user"],
    )
    batch = services.prepare_payout(
        institution_id=a["patent"].owner_id, payee="inventors", up_to=dt.date(2026, 9, 2), by=a["user"]
    )
    client.force_login(b["user"])
    for model, obj in (
        ("inventor", inventor),
        ("inventorshareset", InventorShareSet.objects.get()),
        ("allocation", Allocation.objects.filter(institution=a["patent"].owner).first()),
        ("payoutbatch", batch),
    ):
        listing = client.get(reverse(f"admin:licensing_{model}_changelist"))
        assert listing.status_code == 200 and obj not in listing.context["cl"].result_list
        assert client.get(reverse(f"admin:licensing_{model}_change", args=[obj.pk])).status_code == 302
    assert client.get(reverse("admin:licensing_payoutbatch_download", args=[batch.pk, "csv"])).status_code == 404
    assert (
        client.post(
            reverse("admin:licensing_payoutbatch_act", args=[batch.pk, "mark_paid"]),
            {"paid_on": "2026-09-02", "reference": "X"},
        ).status_code
        == 404
    )
    owed = client.get(reverse("admin:licensing_owed") + "?year=2026").content.decode()
    assert "Li Wei" not in owed
    form = client.get(reverse("admin:licensing_inventorshareset_add")).context["adminform"].form
    assert inventor not in form.fields["inventor_1"].queryset
    refused = client.post(
        reverse("admin:licensing_inventorshareset_add"),
        {"patent": a["patent"].pk, "effective_from": "2026-10-01", "inventor_1": inventor.pk, "share_1": "1"},
    )
    assert refused.status_code == 200 and InventorShareSet.objects.count() == 1


def test_the_owed_page_reads_a_constant_number_of_queries(tto, institution, staff, clock, django_assert_num_queries):
    def grow(n):
        for i in range(n):
            lic = bought_for(institution, staff, clock, price="1000.00")
            inventor = Inventor.objects.create(
                institution=institution, name=f"Inventor {Inventor.objects.count()}", college=f"C{i}"
            )
            services.set_inventor_shares(
                patent_id=lic.offer.patent.pk, shares=[(inventor.pk, "1")], effective_from=dt.date(2026, 1, 1), by=staff
            )
            services.record_payment(
                license_id=lic.pk,
                amount="1000.00",
                paid_on=dt.date(2026, 7, 31),
                reference=f"R{Inventor.objects.count()}",
                idempotency_key=f"k{Inventor.objects.count()}",
                by=staff,
            )

    url = reverse("admin:licensing_owed") + "?year=2026"
    grow(1)
    with django_assert_num_queries(OWED_PAGE_QUERIES):
        tto.get(url)
    grow(3)
    with django_assert_num_queries(OWED_PAGE_QUERIES):
        assert "Inventor 3" in tto.get(url).content.decode()


def test_the_dashboard_shows_distributed_and_paid_by_party_per_year_within_the_institution(
    client, two_institutions, clock
):
    from licensing import selectors

    a, b = two_institutions["A"], two_institutions["B"]
    inventor = Inventor.objects.create(institution=a["patent"].owner, name="Li Wei", college="Chemistry")
    services.set_inventor_shares(
        patent_id=a["patent"].pk, shares=[(inventor.pk, "1")], effective_from=dt.date(2026, 9, 1), by=a["user"]
    )
    clock("2026-09-02")
    services.record_payment(
        license_id=a["license"].pk,
        amount="1060.00",
        paid_on=dt.date(2026, 9, 2),
        reference="A-2",
        idempotency_key="a2",
        by=a["user"],
    )
    batch = services.prepare_payout(
        institution_id=a["patent"].owner_id, payee="inventors", up_to=dt.date(2026, 9, 2), by=a["user"]
    )
    services.mark_payout_paid(batch_id=batch.pk, paid_on=dt.date(2026, 9, 2), reference="P", by=a["user"])

    mine = selectors.distribution_by_year(selectors.BookFilter(institution=a["patent"].owner))
    # The 100.00 of the fixture's first payment (2026-08-01, inventors not recorded yet) and 1,060.00
    # on 2026-09-02: VAT 6% inside each, the law's default halves of the rest.
    assert mine == [
        (2026, "inventor", D("547.17"), D("500.00")),
        (2026, "institution", D("547.17"), None),
        (2026, "vat", D("65.66"), None),
    ]
    assert selectors.distribution_by_year(selectors.BookFilter(institution=b["patent"].owner)) == [
        (2026, "inventor", D("47.17"), D("0.00")),
        (2026, "institution", D("47.17"), None),
        (2026, "vat", D("5.66"), None),
    ]
    client.force_login(b["user"])
    page = client.get(reverse("admin:dashboard")).content.decode()
    assert 'id="table-distribution"' in page and "547.17" not in page
