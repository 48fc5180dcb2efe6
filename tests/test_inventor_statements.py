"""Issue 24, points 5 and 6: an inventor's annual statement (page and PDF, Chinese and English),
and an inventor's own read-only view of their patents, licenses, money and statements, reached
from an invitation email; nothing of anyone else's."""

import datetime as dt
import io
import re
from decimal import Decimal as D

import pypdf
import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from licensing import selectors, services
from licensing.models import AuditEvent, Inventor
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory, UserFactory
from .test_contracts import squash

POLICY = {
    "effective_from": dt.date(2026, 1, 1),
    "vat_rate": D("0.06"),
    "service_rate": D("0.10"),
    "inventors_share": D("0.70"),
    "college_share": D("0.15"),
    "tto_share": D("0"),
    "institution_share": D("0.15"),
}


@pytest.fixture
def inventors_paid(institution, staff, clock):
    """Two inventors (60/40) of a patent licensed for 106,000.00 (VAT inside: no registered
    contract), paid in 2026; Wang Fang paid 10,000.00 of her share in a batch."""
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=D("106000.00"), installment_count=0)
    li = Inventor.objects.create(institution=institution, name="Li Wei", college="Chemistry", email="li@uni.example")
    wang = Inventor.objects.create(institution=institution, name="Wang Fang", college="Physics", email="wf@uni.example")
    services.set_inventor_shares(
        patent_id=offer.patent.pk,
        shares=[(li.pk, "0.6"), (wang.pk, "0.4")],
        effective_from=dt.date(2026, 1, 1),
        by=staff,
    )
    services.adopt_policy(institution=institution, by=staff, **POLICY)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory(name="Hangzhou <b>Rivet</b> Co."))
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    clock("2026-07-31")
    services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)
    services.record_payment(
        license_id=lic.pk,
        amount="106000.00",
        paid_on=dt.date(2026, 7, 31),
        reference="B1",
        idempotency_key="b1",
        by=staff,
    )
    clock("2026-09-01")
    batch = services.prepare_payout(
        institution_id=institution.pk, payee="inventors", up_to=dt.date(2026, 9, 1), by=staff
    )
    services.mark_payout_paid(batch_id=batch.pk, paid_on=dt.date(2026, 9, 1), reference="PAY-9", by=staff)
    return lic, li, wang


def test_the_statement_states_the_years_figures_to_the_fen(inventors_paid):
    lic, li, _wang = inventors_paid
    statement = selectors.inventor_statement(li, 2026)
    # 106,000.00 - VAT 6,000.00 = 100,000.00; - 10% service = 90,000.00 net; 70% team = 63,000.00; 60% of it
    assert [(row.license_id, row.received, row.deducted, row.share) for row in statement.licenses] == [
        (lic.pk, D("106000.00"), D("16000.00"), D("37800.00"))
    ]
    assert (statement.paid_in_year, statement.owed_at_end) == (D("37800.00"), D("0.00"))
    assert selectors.inventor_statement(li, 2025).licenses == []


def test_the_statement_pdf_says_it_in_chinese_then_english(inventors_paid):
    from licensing.reporting import statements

    _lic, li, _wang = inventors_paid
    reader = pypdf.PdfReader(io.BytesIO(statements.statement_pdf(selectors.inventor_statement(li, 2026))))
    text = squash("".join(page.extract_text() for page in reader.pages))
    zh, en = text.split(squash("Inventor's distribution statement 2026"))
    assert squash("发明人收益分配年度对账单") in zh and "37,800.00" in zh and "LiWei" in zh
    assert "106,000.00" in en and "16,000.00" in en and squash("Paid to you in 2026") in en
    assert "Hangzhou<b>Rivet</b>Co." in en  # text, as typed
    fonts = [f for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    assert all(
        "/FontFile2" in font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"] for font in fonts
    )


def test_an_invited_inventor_sees_their_own_and_nothing_else(
    inventors_paid, institution, staff, client, make_member, django_capture_on_commit_callbacks
):
    lic, li, _wang = inventors_paid
    with django_capture_on_commit_callbacks(execute=True):
        services.invite_inventor(inventor_id=li.pk, language="zh-hans", by=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.invite_inventor(inventor_id=li.pk, language="zh-hans", by=staff)  # sent again: the same account
    li.refresh_from_db()
    assert li.user.username == f"inventor-{li.pk}"
    invitations = [m for m in mail.outbox if m.to == ["li@uni.example"]]
    assert len(invitations) == 2 and "查看您的专利许可收益" in invitations[0].subject
    link = re.search(r"https?://[^/\s]+(/\S*password/reset/\S+)", invitations[0].body).group(1)
    assert (
        AuditEvent.objects.filter(object_id=li.pk, content_type__model="inventor", changes__has_key="user").count() == 1
    )

    # The link sets a password; the inventor logs in and lands on their own page.
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "Pat-ent 2026!", "new_password2": "Pat-ent 2026!"})
    landing = client.post(
        reverse("portal:login"), {"username": li.user.username, "password": "Pat-ent 2026!"}, follow=True
    )
    assert landing.redirect_chain[-1][0] == reverse("portal:inventor")
    page = landing.content.decode()
    assert lic.offer.patent.number in page and "37,800.00" in page and ">60%<" in page
    assert "Wang Fang" not in page and "25,200.00" not in page  # her share, not his
    assert "Hangzhou &lt;b&gt;Rivet&lt;/b&gt; Co." in page
    statement = client.get(reverse("portal:inventor_statement", args=[2026])).content.decode()
    assert "37,800.00" in statement and "25,200.00" not in statement
    pdf = client.get(reverse("portal:inventor_statement_pdf", args=[2026]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(reverse("portal:inventor_statement", args=[1999])).status_code == 404
    # An inventor is no enterprise member: the SME's pages are not theirs.
    assert client.get(reverse("portal:license", args=[lic.pk]), follow=True).redirect_chain[-1][0] == reverse(
        "portal:inventor"
    )

    sme = Client()
    sme.force_login(make_member(enterprise=lic.enterprise).user)
    for name, args in (
        ("portal:inventor", []),
        ("portal:inventor_statement", [2026]),
        ("portal:inventor_statement_pdf", [2026]),
    ):
        assert sme.get(reverse(name, args=args)).status_code == 404


def test_staff_read_statements_of_their_own_institutions_inventors_only(inventors_paid, staff, two_institutions):
    _lic, li, _wang = inventors_paid
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    tto = Client()
    tto.force_login(staff)
    change = tto.get(reverse("admin:licensing_inventor_change", args=[li.pk])).content.decode()
    assert reverse("admin:licensing_inventor_statement", args=[li.pk, 2026]) in change
    page = tto.get(reverse("admin:licensing_inventor_statement", args=[li.pk, 2026])).content.decode()
    assert "37,800.00" in page
    assert tto.get(reverse("admin:licensing_inventor_statement_pdf", args=[li.pk, 2026])).content.startswith(b"%PDF")

    other = Client()
    other.force_login(two_institutions["B"]["user"])
    assert other.get(reverse("admin:licensing_inventor_statement", args=[li.pk, 2026])).status_code == 404
    assert other.get(reverse("admin:licensing_inventor_statement_pdf", args=[li.pk, 2026])).status_code == 404


INVENTOR_PAGE_QUERIES = 7  # session, user, inventor, shares with their patents, licenses, lines, years
STATEMENT_PAGE_QUERIES = 10  # session, user, inventor, the statement's grouped sums (6), patents


def test_the_inventors_pages_read_a_constant_number_of_queries(
    inventors_paid, institution, staff, clock, client, django_assert_num_queries
):
    _lic, li, _wang = inventors_paid
    li.user = UserFactory(username="li-wei")
    li.save()
    client.force_login(li.user)

    def pages():
        with django_assert_num_queries(INVENTOR_PAGE_QUERIES):
            assert client.get(reverse("portal:inventor")).status_code == 200
        with django_assert_num_queries(STATEMENT_PAGE_QUERIES):
            assert client.get(reverse("portal:inventor_statement", args=[2026])).status_code == 200

    pages()
    for n in range(3):  # three more licenses of his patents, paid: the same number of queries
        clock("2026-01-31")
        offer = OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0)
        services.set_inventor_shares(
            patent_id=offer.patent.pk, shares=[(li.pk, "1")], effective_from=dt.date(2026, 1, 1), by=staff
        )
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
        clock("2026-07-31")
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)
        services.record_payment(
            license_id=lic.pk,
            amount="1000.00",
            paid_on=dt.date(2026, 7, 31),
            reference=f"X{n}",
            idempotency_key=f"x{n}",
            by=staff,
        )
    pages()
