"""The license contract: issued under the institution's next number, rendered to PDF from the
license's own terms in Chinese and English, and read back from the PDF."""

import datetime as dt
import io
import re
from decimal import Decimal as D

import pypdf
import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from licensing import services
from licensing.models import (
    AuditEvent,
    Contract,
    ContractNumberSeries,
    ContractVersion,
    LicensePatent,
    OfferMilestone,
    Reminder,
)
from licensing.reminders import delivery, sweep
from licensing.services import contracts as contract_service

from .factories import EnterpriseFactory, InstitutionFactory, OfferFactory, PatentFactory, StaffProfileFactory


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


def read_pdf(contract, version=1) -> tuple[str, pypdf.PdfReader]:
    with contract.versions.get(version=version).document.open("rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
    # Table cells wrap at any character: the text is compared with every space and line break removed.
    return squash("".join(page.extract_text() for page in reader.pages)), reader


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def chinese(text: str) -> str:
    """The Chinese text: everything before the English version's title."""
    return text.split(squash("Patent Implementation License Contract"))[0]


def english(text: str) -> str:
    return text.split(squash("Patent Implementation License Contract"), 1)[1]


def bought(offer, staff, clock, *, enterprise=None, plan="lump_sum"):
    """A license applied for, tried from 2026-01-31 and bought at the end of its trial."""
    clock("2026-01-31")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise or EnterpriseFactory())
    if lic.state == "applied":
        lic = services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    clock(lic.trial_end_effective.isoformat())
    return services.purchase(license_id=lic.pk, plan=plan, by=staff)


def test_a_fixed_price_in_installments_states_each_payment_in_figures_and_capitals(institution, staff, clock):
    offer = OfferFactory(patent__owner=institution, price=D("120000.00"), installment_count=3, first_due_months=12)
    lic = bought(offer, staff, clock, plan="installments")
    contract = services.issue_contract(license_id=lic.pk, by=staff)

    text, reader = read_pdf(contract)
    zh, en = chinese(text), english(text)
    assert contract.number == f"{institution.contract_prefix}-2026-0001"
    assert zh.count(contract.number) >= 2 and en.count(contract.number) >= 2  # the cover and every page's foot
    assert "专利实施许可合同" in zh and "许可方（甲方）" in zh and "被许可方（乙方）" in zh
    for party in (institution, lic.enterprise):
        assert party.uscc in zh and party.uscc in en
        assert squash(party.legal_representative) in zh
    assert lic.offer.patent.number in zh and squash(lic.offer.patent.title) in zh
    # Three installments of 40,000.00, 12, 18 and 24 months after the contract takes effect.
    assert zh.count("40,000.00") == 3 and zh.count("人民币肆万元整") == 3
    assert "本合同生效后12个月" in zh and "本合同生效后18个月" in zh and "本合同生效后24个月" in zh
    assert "固定款项合计人民币120,000.00元（人民币壹拾贰万元整）" in zh
    assert squash("forty thousand yuan only") in en and squash("12 months after this contract takes effect") in en
    assert squash("The fixed amounts total CNY 120,000.00 (one hundred and twenty thousand yuan only).") in en
    assert squash(institution.payee_account) in zh and squash(institution.payee_bank) in en
    # The articles are numbered without gaps (no reports, equity or insurance article here).
    assert re.findall(r"第(\d+)条(?!所列)", zh) == [str(n) for n in range(1, 11)]
    assert re.findall(r"Article(\d+)[A-Z]", en) == [str(n) for n in range(1, 11)]
    assert squash("in words") in en.lower() and "大写" in zh
    # The CJK font travels inside the PDF: it reads the same on a machine without one.
    fonts = [font.get_object() for page in reader.pages for font in page["/Resources"]["/Font"].values()]
    assert any("WenQuanYi" in font["/BaseFont"] for font in fonts)
    assert all("/FontFile2" in font["/DescendantFonts"][0].get_object()["/FontDescriptor"] for font in fonts)


def test_a_royalty_with_tiers_a_minimum_and_caps(institution, staff, clock):
    offer = OfferFactory(
        patent__owner=institution,
        price=D("0"),
        installment_count=0,
        entry_fee=D("50000.00"),
        royalty_base="net_sales",
        royalty_rates="3% up to 10,000,000; 2%",
        reporting_period="quarter",
        report_due_days=30,
        royalty_minimum=D("20000.00"),
        royalty_cap_year=D("500000.00"),
    )
    contract = services.issue_contract(license_id=bought(offer, staff, clock).pk, by=staff)
    text, _reader = read_pdf(contract)
    zh, en = chinese(text), english(text)
    assert "入门费" in zh and "人民币伍万元整" in zh and "本合同生效之日" in zh
    assert "3%" in zh and "10,000,000.00" in zh and "2%" in zh and "净销售额" in zh
    assert "按自然季度报告" in zh and "30日内支付提成费" in zh
    assert "不低于人民币20,000.00元（人民币贰万元整）" in zh
    assert "不超过人民币500,000.00元（人民币伍拾万元整）" in zh
    assert "报告与账目" in zh  # the reports article, there for a royalty
    assert squash("3% up to 10,000,000.00; 2% above") in en and squash("for each calendar quarter") in en
    assert squash("fifty thousand yuan only") in en and squash("twenty thousand yuan only") in en


def test_a_mixed_deal_with_milestones_and_a_deferral(institution, staff, clock):
    offer = OfferFactory(
        patent__owner=institution,
        price=D("90000.00"),
        lump_sum_allowed=True,
        first_due_months=0,
        royalty_base="net_sales",
        royalty_rates="2.5%",
        deferred_months=12,
        deferred_until_revenue=True,
        equity_allowed=True,
        equity_max_share=D("0.5"),
    )
    OfferMilestone.objects.create(offer=offer, name="首次商业销售", amount=D("30000.00"), due_days=30)
    OfferMilestone.objects.create(offer=offer, name="Production line", amount=D("16409.02"), due_months=18)
    contract = services.issue_contract(license_id=bought(offer, staff, clock).pk, by=staff)
    text, _reader = read_pdf(contract)
    zh, en = chinese(text), english(text)
    # The price due at once is held to the end of the 12-month deferral.
    assert "人民币玖万元整" in zh and "本合同生效后12个月（顺延至缓付期届满）" in zh
    assert "首次商业销售" in zh and "人民币叁万元整" in zh and "被许可方报告达成后30日内" in zh
    assert squash("Production line") in zh and "人民币壹万陆仟肆佰零玖元零贰分" in zh and "本合同生效后18个月" in zh
    assert "除试用费外，本合同生效后12个月内不发生到期款项" in zh and "首次报告有收入的，缓付期提前届满" in zh
    assert "转为股权" in zh and "50%" in zh
    assert "固定款项合计人民币136,409.02元（人民币壹拾叁万陆仟肆佰零玖元零贰分）" in zh
    assert squash("one hundred and thirty-six thousand four hundred and nine yuan and 2 fen") in en
    assert squash("within 30 days after the licensee reports it reached") in en


def test_a_free_license_and_an_open_licence(institution, staff, clock):
    free = OfferFactory(patent__owner=institution, price=D("0"), installment_count=0)
    text, _reader = read_pdf(services.issue_contract(license_id=bought(free, staff, clock).pk, by=staff))
    assert "本许可为免费许可，被许可方无需支付许可使用费" in chinese(text)
    assert squash("The license is free of charge") in english(text)
    assert "开户行" not in chinese(text)  # no payee block: nothing is paid

    open_offer = OfferFactory(
        patent__owner=institution, open_licence=True, price=D("20000.00"), installment_count=0, trial_fee=D("500.00")
    )
    lic = bought(open_offer, staff, clock)
    text, _reader = read_pdf(services.issue_contract(license_id=lic.pk, by=staff))
    assert "开放许可声明（《专利法》第五十条）" in chinese(text) and "普通" in chinese(text)
    assert "试用费为人民币500.00元（人民币伍佰元整）" in chinese(text)
    assert squash("open-licence declaration (Patent Law Art. 50)") in english(text)


def test_a_package_lists_every_patent_with_its_dates(institution, staff, clock):
    offer = OfferFactory(
        patent__owner=institution, price=D("10000.00"), installment_count=0, name="Graphene package", state="draft"
    )
    second = PatentFactory(owner=institution, title="Second patent of the package", grant_date=dt.date(2021, 5, 4))
    services.set_package(offer_id=offer.pk, patents=[offer.patent, second], by=staff)
    services.publish_offer(offer_id=offer.pk, by=staff)
    text, _reader = read_pdf(services.issue_contract(license_id=bought(offer, staff, clock).pk, by=staff))
    zh = chinese(text)
    assert f"ZL{second.number}" in zh and "2021-05-04" in zh and squash("Second patent of the package") in zh
    assert "审查中" in zh  # the lead patent has no grant date
    assert "本许可涵盖上列2项专利" in zh


def test_hostile_text_is_printed_as_text_and_nothing_is_fetched(institution, staff, clock, monkeypatch):
    fetched = []
    real = contract_service.pdf.cjk_font_file
    monkeypatch.setattr(contract_service.pdf, "cjk_font_file", lambda: fetched.append(1) or real())
    enterprise = EnterpriseFactory(
        name='<img src="http://attacker.example/x.png">恶意 & Co',
        address='<link rel=stylesheet href="file:///etc/passwd">',
    )
    offer = OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0)
    lic = bought(offer, staff, clock, enterprise=enterprise)
    html = contract_service.render_contract_html(services.issue_contract(license_id=lic.pk, by=staff), 1, "")
    assert "<img" not in html and "&lt;img" in html and "<link rel" not in html
    text, _reader = read_pdf(lic.contract)
    assert squash('<img src="http://attacker.example/x.png">恶意 & Co') in text


def test_issuing_refuses_what_is_not_ready_and_writes_nothing(institution, staff, clock, make_license):
    offer = OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0)
    trial = make_license(offer, "trial")
    with pytest.raises(ValidationError, match="issued for a bought license"):
        services.issue_contract(license_id=trial.pk, by=staff)
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    lic.enterprise.address = ""
    lic.enterprise.save()
    institution.legal_representative = ""
    institution.save()
    with pytest.raises(ValidationError) as refused:
        services.issue_contract(license_id=lic.pk, by=staff)
    assert "the institution's legal representative" in str(refused.value)
    assert "the enterprise's registered address" in str(refused.value)
    assert not Contract.objects.exists() and not ContractNumberSeries.objects.exists()
    assert not AuditEvent.objects.filter(content_type__model="contract").exists()


def test_numbers_are_the_institutions_consecutive_per_year_and_a_failed_issue_gives_its_number_back(
    institution, staff, clock, monkeypatch
):
    other = StaffProfileFactory().user
    licenses = [
        bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
        for _ in range(3)
    ]
    theirs = bought(
        OfferFactory(patent__owner=other.staff_profile.institution, price=D("1000.00"), installment_count=0),
        other,
        clock,
    )
    broken = monkeypatch.setattr  # the renderer fails once: the issue rolls back with its number
    broken(contract_service, "render_contract_pdf", lambda *args: (_ for _ in ()).throw(RuntimeError("no font")))
    with pytest.raises(RuntimeError):
        services.issue_contract(license_id=licenses[0].pk, by=staff)
    monkeypatch.undo()
    assert not Contract.objects.exists()

    first = services.issue_contract(license_id=licenses[0].pk, by=staff)
    their_first = services.issue_contract(license_id=theirs.pk, by=other)
    second = services.issue_contract(license_id=licenses[1].pk, by=staff)
    clock("2027-01-01")  # a new year starts its numbers again
    third = services.issue_contract(license_id=licenses[2].pk, by=staff)
    prefix, theirs_prefix = institution.contract_prefix, other.staff_profile.institution.contract_prefix
    assert [first.number, second.number, third.number] == [
        f"{prefix}-2026-0001",
        f"{prefix}-2026-0002",
        f"{prefix}-2027-0001",
    ]
    assert their_first.number == f"{theirs_prefix}-2026-0001"
    with pytest.raises(ValidationError, match=f"already has contract {prefix}-2026-0001"):
        services.issue_contract(license_id=licenses[0].pk, by=staff)


def test_issuing_is_audited_and_the_sme_is_told_once(institution, staff, clock):
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    mail.outbox.clear()
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    version = contract.versions.get()
    events = AuditEvent.objects.filter(license=lic, content_type__model__in=["contract", "contractversion"])
    assert {(e.object_id, e.by_id, e.action) for e in events} == {
        (contract.pk, staff.pk, AuditEvent.Action.CREATED),
        (version.pk, staff.pk, AuditEvent.Action.CREATED),
    }
    created = events.get(content_type__model="contract")
    assert created.changes["number"] == [None, contract.number]
    assert events.get(content_type__model="contractversion").changes["sha256"] == [None, version.sha256]
    assert len(version.sha256) == 64
    for _ in range(2):
        for reminder_id in sweep.deliverable_reminder_ids():
            delivery.deliver_reminder(reminder_id)
    told = [m for m in mail.outbox if contract.number in m.subject]
    assert len(told) == 1 and told[0].to == [lic.enterprise.contact_email]
    assert f"/licenses/{lic.pk}/" in told[0].body and "sign" in told[0].body
    assert Reminder.objects.get(kind=Reminder.Kind.CONTRACT_ISSUED).state == Reminder.State.SENT


def test_every_version_keeps_what_it_stated(institution, staff, clock):
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    version = ContractVersion.objects.get(contract=contract)
    assert version.terms["price"] == "1000.00" and version.terms["plan"] == "lump_sum"
    assert version.filename == f"{contract.number}-v1.pdf"
    with version.document.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_the_chinese_institution_prefix_and_grant_date_are_checked(institution):
    institution.contract_prefix = "jh-1"
    with pytest.raises(ValidationError) as bad:
        institution.full_clean()
    assert "contract_prefix" in bad.value.message_dict
    taken = InstitutionFactory()
    institution.contract_prefix = taken.contract_prefix
    with pytest.raises(ValidationError):
        institution.full_clean()
    patent = PatentFactory.build(owner=institution, filing_date=dt.date(2020, 1, 1), grant_date=dt.date(2019, 1, 1))
    with pytest.raises(ValidationError) as bad:
        patent.full_clean()
    assert "grant_date" in bad.value.message_dict


def test_staff_issue_from_the_license_page_and_see_only_their_institutions_contracts(client, two_institutions):
    a, b = two_institutions["A"], two_institutions["B"]
    client.cookies["django_language"] = "en"
    for side in (a, b):
        client.force_login(side["user"])
        url = reverse("admin:licensing_license_act", args=[side["license"].pk, "issue_contract"])
        response = client.post(url, follow=True)
        assert response.status_code == 200
        side["contract"] = Contract.objects.get(license=side["license"])
        assert f"Contract {side['contract'].number} issued" in response.content.decode()
    client.force_login(a["user"])
    page = client.get(reverse("admin:licensing_license_change", args=[a["license"].pk])).content.decode()
    assert a["contract"].number in page and f"{a['contract'].number}-v1.pdf" in page
    listed = client.get(reverse("admin:licensing_contract_changelist"))
    assert list(listed.context["cl"].result_list) == [a["contract"]]
    own = client.get(reverse("admin:licensing_contract_document", args=[a["contract"].pk, 1]))
    assert own.status_code == 200 and b"".join(own.streaming_content).startswith(b"%PDF-")
    assert own["Content-Disposition"] == f'attachment; filename="{a["contract"].number}-v1.pdf"'
    assert own["X-Content-Type-Options"] == "nosniff"
    # Another institution's contract: its page is not found, nor its document, nor a version it lacks.
    theirs = client.get(reverse("admin:licensing_contract_change", args=[b["contract"].pk]))
    assert theirs.status_code == 302 and theirs.url == reverse("admin:index")
    assert client.get(reverse("admin:licensing_contract_document", args=[b["contract"].pk, 1])).status_code == 404
    assert client.get(reverse("admin:licensing_contract_document", args=[a["contract"].pk, 2])).status_code == 404
    # Nor can its license be given a second contract by anyone, from either side.
    again = client.post(reverse("admin:licensing_license_act", args=[b["license"].pk, "issue_contract"]))
    assert again.status_code == 404 and Contract.objects.count() == 2


def test_the_sme_sees_its_contract_on_its_license_page_and_downloads_it(client, make_member, institution, staff, clock):
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    member = make_member(lic.enterprise)
    client.force_login(member.user)
    client.cookies["django_language"] = "en"
    waiting = client.get(reverse("portal:license", args=[lic.pk])).content.decode()
    assert "is preparing the contract" in waiting and "contract to be issued" in waiting
    assert "contract to be issued" in client.get(reverse("portal:licenses")).content.decode()
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    page = client.get(reverse("portal:license", args=[lic.pk])).content.decode()
    assert contract.number in page and "sign and seal it" in page and "contract not signed yet" in page
    listed = client.get(reverse("portal:licenses")).content.decode()
    assert "contract not signed yet" in listed and "contract to be issued" not in listed
    link = reverse("portal:contract_document", args=[lic.pk, 1])
    assert link in page
    response = client.get(link)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-")


# Pinned query counts of the contract's pages (the license pages' own pins are in test_admin_queries
# and test_portal_queries; a contract adds its versions, one query, whatever their number).
ADMIN_CONTRACT_PAGE_QUERIES = 15  # with the license's balance, as every page of a license's row shows
ADMIN_CONTRACT_LIST_QUERIES = 8
PORTAL_LICENSE_PAGE_WITH_CONTRACT = 19


@pytest.mark.parametrize("book", [1, 4])
def test_the_contract_pages_take_a_fixed_number_of_queries(
    client, admin_client, make_member, institution, staff, clock, django_assert_max_num_queries, book
):
    from .test_admin_queries import LICENSE_PAGE_QUERIES

    contracts = []
    for _ in range(book):
        lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
        contracts.append(services.issue_contract(license_id=lic.pk, by=staff))
    with django_assert_max_num_queries(ADMIN_CONTRACT_LIST_QUERIES):  # session, user, 2 counts, rows, versions…
        assert admin_client.get(reverse("admin:licensing_contract_changelist")).status_code == 200
    with django_assert_max_num_queries(ADMIN_CONTRACT_PAGE_QUERIES):
        assert admin_client.get(reverse("admin:licensing_contract_change", args=[contracts[0].pk])).status_code == 200
    with django_assert_max_num_queries(LICENSE_PAGE_QUERIES + 1):
        assert admin_client.get(reverse("admin:licensing_license_change", args=[lic.pk])).status_code == 200
    client.force_login(make_member(lic.enterprise).user)
    with django_assert_max_num_queries(PORTAL_LICENSE_PAGE_WITH_CONTRACT):
        assert client.get(reverse("portal:license", args=[lic.pk])).status_code == 200


# -- signing and the effective date ------------------------------------------------------------------

SIGNED_PDF = b"%PDF-1.4\n% a scan of the signed pages\n%%EOF\n"


def signed_pdf(name="signed.pdf", content=SIGNED_PDF):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_the_effective_date_moves_the_deferral_the_payments_the_milestones_and_the_periods(institution, staff, clock):
    offer = OfferFactory(
        patent__owner=institution,
        price=D("90000.00"),
        installment_count=3,
        installment_interval_months=6,
        first_due_months=0,
        entry_fee=D("10000.00"),
        royalty_base="net_sales",
        royalty_rates="2%",
        reporting_period="quarter",
        deferred_months=6,
    )
    OfferMilestone.objects.create(offer=offer, name="Production", amount=D("5000.00"), due_months=18)
    lic = bought(offer, staff, clock, plan="installments")  # bought on 2026-07-31
    assert lic.takes_effect_on == dt.date(2026, 7, 31) and lic.payments_start == dt.date(2027, 1, 31)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    clock("2026-09-10")
    services.record_signing(
        contract_id=contract.pk,
        signed_copy=signed_pdf(),
        signed_on=dt.date(2026, 9, 8),
        effective_on=dt.date(2026, 9, 15),
        by=staff,
    )
    lic.refresh_from_db()
    contract.refresh_from_db()
    assert (contract.state, contract.signed_on, contract.effective_on) == (
        "signed",
        dt.date(2026, 9, 8),
        dt.date(2026, 9, 15),
    )
    assert (lic.purchased_on, lic.takes_effect_on) == (dt.date(2026, 7, 31), dt.date(2026, 9, 15))
    assert lic.payments_start == dt.date(2027, 3, 15) and lic.term_start == dt.date(2026, 9, 15)
    dues = {(i.kind, i.sequence): (i.due_date, i.deferred_from) for i in lic.installments.exclude(kind="royalty")}
    assert dues == {
        ("entry_fee", 1): (dt.date(2027, 3, 15), dt.date(2026, 9, 15)),  # held to the end of the deferral
        ("purchase", 1): (dt.date(2027, 3, 15), dt.date(2026, 9, 15)),
        ("purchase", 2): (dt.date(2027, 3, 15), None),
        ("purchase", 3): (dt.date(2027, 9, 15), None),
        ("milestone", 1): (dt.date(2028, 3, 15), None),
    }
    periods = list(lic.royalty_reports.order_by("period_start").values_list("period_start", "period_end"))
    assert periods[0] == (dt.date(2026, 9, 15), dt.date(2026, 9, 30))  # the first period starts with the effect
    assert periods[1] == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert not lic.royalty_reports.filter(period_start__lt=dt.date(2026, 9, 15)).exists()
    assert lic.installments.filter(kind="royalty").count() == len(periods)
    # Audited: the signing (who, from -> to), the license's new start, each moved payment, the periods.
    signed = AuditEvent.objects.get(content_type__model="contract", transition="sign")
    assert (signed.by, signed.source_state, signed.state) == (staff, "issued", "signed")
    assert signed.changes["effective_on"] == [None, "2026-09-15"]
    moved = AuditEvent.objects.filter(
        license=lic, content_type__model="installment", reason_code__contains="takes effect"
    )
    assert moved.count() == 5
    start = AuditEvent.objects.get(
        content_type__model="license", changes__has_key="takes_effect_on", reason_code__contains="takes effect"
    )
    assert start.changes["takes_effect_on"] == ["2026-07-31", "2026-09-15"]


def royalty_with_entry_fee(institution, staff, clock):
    offer = OfferFactory(
        patent__owner=institution,
        price=D("0"),
        installment_count=0,
        entry_fee=D("1000.00"),
        royalty_base="net_sales",
        royalty_rates="2%",
    )
    lic = bought(offer, staff, clock)
    services.record_payment(
        license_id=lic.pk, amount=D("1000.00"), paid_on=lic.purchased_on, reference="E1", idempotency_key="e1", by=staff
    )
    return lic, services.issue_contract(license_id=lic.pk, by=staff)


def test_a_paid_installment_keeps_its_day(institution, staff, clock):
    lic, contract = royalty_with_entry_fee(institution, staff, clock)
    clock("2026-08-20")
    day = dt.date(2026, 8, 20)
    services.record_signing(
        contract_id=contract.pk, signed_copy=signed_pdf(), signed_on=day, effective_on=day, by=staff
    )
    entry = lic.installments.get(kind="entry_fee")
    assert entry.due_date == dt.date(2026, 7, 31) and entry.outstanding == 0
    assert lic.royalty_reports.order_by("period_start").first().period_start == day


def test_a_filed_report_keeps_the_periods_where_they_are(institution, staff, clock):
    lic, contract = royalty_with_entry_fee(institution, staff, clock)
    clock("2026-11-10")
    first = lic.royalty_reports.order_by("period_start").first()
    services.file_royalty_report(report_id=first.pk, base="0", by=staff)
    day = dt.date(2026, 11, 10)
    with pytest.raises(ValidationError, match="Reports were filed"):
        services.record_signing(
            contract_id=contract.pk, signed_copy=signed_pdf(), signed_on=day, effective_on=day, by=staff
        )
    contract.refresh_from_db()
    assert contract.state == "issued" and not contract.signed_copy  # nothing written
    # Taking effect from the purchase (agreed retroactively), nothing moves: the signing is recorded.
    services.record_signing(
        contract_id=contract.pk, signed_copy=signed_pdf(), signed_on=day, effective_on=lic.purchased_on, by=staff
    )
    contract.refresh_from_db()
    assert contract.state == "signed" and contract.effective_on == lic.purchased_on
    first.refresh_from_db()
    assert first.state == "filed" and lic.royalty_reports.order_by("period_start").first() == first


@pytest.mark.parametrize(
    ("signed_on", "effective_on", "field"),
    [
        ("2026-07-30", "2026-08-01", "signed_on"),  # before the contract was issued
        ("2026-09-11", "2026-09-11", "signed_on"),  # in the future
        ("2026-09-08", "2026-07-30", "effective_on"),  # before the purchase it documents
        ("2026-09-08", "2027-09-10", "effective_on"),  # more than a year after signing
    ],
)
def test_signing_dates_outside_their_window_are_refused_and_write_nothing(
    institution, staff, clock, signed_on, effective_on, field
):
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    clock("2026-09-10")
    with pytest.raises(ValidationError) as refused:
        services.record_signing(
            contract_id=contract.pk,
            signed_copy=signed_pdf(),
            signed_on=dt.date.fromisoformat(signed_on),
            effective_on=dt.date.fromisoformat(effective_on),
            by=staff,
        )
    assert field in refused.value.message_dict
    contract.refresh_from_db()
    assert contract.state == "issued" and not contract.signed_copy


@pytest.mark.parametrize(
    ("name", "content"), [("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20), ("scan.pdf", b"<html>not a pdf")]
)
def test_a_signed_copy_must_be_a_pdf(institution, staff, clock, name, content):
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    with pytest.raises(ValidationError, match="as a PDF file"):
        services.record_signing(
            contract_id=contract.pk,
            signed_copy=signed_pdf(name, content),
            signed_on=lic.purchased_on,
            effective_on=lic.purchased_on,
            by=staff,
        )


def test_the_licensee_uploads_its_copy_the_tto_is_told_and_records_the_signing(
    client, make_member, institution, staff, clock
):
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    for reminder_id in sweep.deliverable_reminder_ids():  # the contract issued, told to the SME
        delivery.deliver_reminder(reminder_id)
    member = make_member(lic.enterprise)
    client.force_login(member.user)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("portal:license", args=[lic.pk])).content.decode()
    assert "Upload your signed copy" in page
    refused = client.post(reverse("portal:upload_signed_copy", args=[lic.pk]), {"copy": signed_pdf("x.png", b"no")})
    assert refused.status_code == 200 and "as a PDF file" in refused.content.decode()
    contract.refresh_from_db()
    assert not contract.licensee_copy
    mail.outbox.clear()
    response = client.post(reverse("portal:upload_signed_copy", args=[lic.pk]), {"copy": signed_pdf()})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.licensee_copy and contract.licensee_signed_at
    for reminder_id in sweep.deliverable_reminder_ids():
        delivery.deliver_reminder(reminder_id)
    told = [m for m in mail.outbox if contract.number in m.subject]
    assert len(told) == 1 and told[0].to == [institution.contact_email]
    assert f"/admin/licensing/contract/{contract.pk}/change/" in told[0].body
    own = client.get(reverse("portal:signed_copy", args=[lic.pk, "licensee_copy"]))
    assert b"".join(own.streaming_content) == SIGNED_PDF
    assert client.get(reverse("portal:signed_copy", args=[lic.pk, "signed_copy"])).status_code == 404  # not yet

    from django.contrib.auth.models import Group

    from licensing.roles import TTO_STAFF_GROUP

    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    admin = Client()
    admin.force_login(staff)
    admin.cookies["django_language"] = "en"
    url = reverse("admin:licensing_contract_act", args=[contract.pk, "record_signing"])
    form = admin.get(url)
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.content.decode()
    day = lic.purchased_on.isoformat()
    done = admin.post(url, {"signed_copy": signed_pdf(), "signed_on": day, "effective_on": day}, follow=True)
    assert "Signing recorded" in done.content.decode()
    contract.refresh_from_db()
    assert contract.state == "signed"
    mail.outbox.clear()
    for reminder_id in sweep.deliverable_reminder_ids():
        delivery.deliver_reminder(reminder_id)
    told = [m for m in mail.outbox if contract.number in m.subject]
    assert len(told) == 1 and told[0].to == [lic.enterprise.contact_email] and "takes effect on" in told[0].body
    page = client.get(reverse("portal:license", args=[lic.pk])).content.decode()
    assert "Signed by both parties" in page and reverse("portal:signed_copy", args=[lic.pk, "signed_copy"]) in page
    assert client.post(reverse("portal:upload_signed_copy", args=[lic.pk]), {"copy": signed_pdf()}).status_code == 200


def test_the_licensee_is_asked_to_sign_7_14_and_30_days_after_the_issue_until_it_uploads(
    institution, staff, clock, make_member
):
    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    other = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    contract = services.issue_contract(license_id=lic.pk, by=staff)  # 2026-07-31
    services.issue_contract(license_id=other.pk, by=staff)
    asked = []
    for day in ("2026-08-06", "2026-08-07", "2026-08-07", "2026-08-13", "2026-08-14", "2026-08-20"):
        clock(day)
        sweep.run_sweep()
        mail.outbox.clear()
        for reminder_id in sweep.deliverable_reminder_ids():
            delivery.deliver_reminder(reminder_id)
        asked += [(day, m.to[0]) for m in mail.outbox if contract.number in m.subject and "still to sign" in m.subject]
        if day == "2026-08-14":  # the licensee uploads its copy: no more reminders for it
            services.upload_licensee_copy(
                contract_id=contract.pk, copy=signed_pdf(), by=make_member(lic.enterprise).user
            )
    assert asked == [("2026-08-07", lic.enterprise.contact_email), ("2026-08-14", lic.enterprise.contact_email)]
    keys = set(Reminder.objects.filter(kind=Reminder.Kind.CONTRACT_TO_SIGN).values_list("subject_id", "offset_days"))
    assert keys == {(contract.pk, -7), (contract.pk, -14), (lic.contract.pk + 1, -7), (lic.contract.pk + 1, -14)}


def test_the_contract_twins_agree_in_python_and_sql(institution, staff, clock, make_member):
    from licensing.models import License

    trial_offer = OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0)
    clock("2026-01-31")
    in_trial = services.approve_trial(
        license_id=services.apply_for_trial(offer_id=trial_offer.pk, enterprise=EnterpriseFactory()).pk,
        by=staff,
        start=dt.date(2026, 1, 31),
    )
    without = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    issued = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    uploaded = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    signed = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    for lic in (issued, uploaded, signed):
        services.issue_contract(license_id=lic.pk, by=staff)
    services.upload_licensee_copy(
        contract_id=uploaded.contract.pk, copy=signed_pdf(), by=make_member(uploaded.enterprise).user
    )
    services.record_signing(
        contract_id=signed.contract.pk,
        signed_copy=signed_pdf(),
        signed_on=signed.purchased_on,
        effective_on=signed.purchased_on,
        by=staff,
    )
    licenses = License.objects.filter(pk__in=[x.pk for x in (in_trial, without, issued, uploaded, signed)])
    sql = set(licenses.filter(License.awaits_contract_q()).values_list("pk", flat=True))
    assert sql == {lic.pk for lic in License.objects.filter(pk__in=licenses) if lic.awaits_contract} == {without.pk}
    for twin, expected in (("awaits_licensee", issued), ("awaits_licensor", uploaded)):
        sql = set(Contract.objects.filter(getattr(Contract, f"{twin}_q")()).values_list("pk", flat=True))
        assert sql == {c.pk for c in Contract.objects.all() if getattr(c, twin)} == {expected.contract.pk}


# -- the CNIPA recordal --------------------------------------------------------------------------------


def signed_contract(institution, staff, clock, *, effective="2026-08-10"):
    lic = bought(OfferFactory(patent__owner=institution, price=D("120000.00"), installment_count=0), staff, clock)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    clock(effective)
    day = dt.date.fromisoformat(effective)
    services.record_signing(
        contract_id=contract.pk, signed_copy=signed_pdf(), signed_on=day, effective_on=day, by=staff
    )
    return lic, Contract.objects.get(pk=contract.pk)


def test_the_recordal_is_due_three_months_after_the_effect_and_the_tto_is_reminded_once_at_30_7_and_1_days(
    institution, staff, clock
):
    from licensing.models import Recordal

    lic, contract = signed_contract(institution, staff, clock)
    recordal = contract.recordals.get()
    assert (recordal.kind, recordal.state, recordal.arose_on, recordal.due_by) == (
        "recordal",
        "due",
        dt.date(2026, 8, 10),
        dt.date(2026, 11, 10),
    )
    told = []
    for day in ("2026-10-10", "2026-10-11", "2026-10-11", "2026-11-03", "2026-11-09", "2026-11-10", "2026-11-11"):
        clock(day)
        sweep.run_sweep()
        mail.outbox.clear()
        for reminder_id in sweep.deliverable_reminder_ids():
            delivery.deliver_reminder(reminder_id)
        told += [(day, m.to[0]) for m in mail.outbox if m.extra_headers["X-Reminder-Key"].startswith("recordal_due:")]
    tto = institution.contact_email
    assert told == [("2026-10-11", tto), ("2026-11-03", tto), ("2026-11-09", tto)]
    assert not recordal.is_late_on(dt.date(2026, 11, 10)) and recordal.is_late_on(dt.date(2026, 11, 11))
    late = set(Recordal.objects.late(dt.date(2026, 11, 11)).values_list("pk", flat=True))
    assert late == {recordal.pk} and not Recordal.objects.late(dt.date(2026, 11, 10)).exists()
    with pytest.raises(ValidationError) as refused:
        services.record_recordal(
            recordal_id=recordal.pk, recordal_number="", recorded_on=dt.date(2026, 11, 11), by=staff
        )
    assert "recordal_number" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.record_recordal(
            recordal_id=recordal.pk, recordal_number="X", recorded_on=dt.date(2026, 8, 9), by=staff
        )
    assert "recorded_on" in refused.value.message_dict
    services.record_recordal(
        recordal_id=recordal.pk, recordal_number="2026990000123", recorded_on=dt.date(2026, 11, 11), by=staff
    )
    recordal.refresh_from_db()
    assert (recordal.state, recordal.recordal_number, recordal.is_late_on(dt.date(2027, 1, 1))) == (
        "recorded",
        "2026990000123",
        False,
    )
    event = AuditEvent.objects.get(content_type__model="recordal", transition="record")
    assert (event.by, event.changes["recordal_number"]) == (staff, ["", "2026990000123"])

    # Ending early owes a cancellation, three months on; once.
    services.terminate(license_id=lic.pk, by=staff, reason="The licensee stopped production.")
    cancellation = contract.recordals.get(kind="cancellation")
    assert (cancellation.arose_on, cancellation.due_by) == (dt.date(2026, 11, 11), dt.date(2027, 2, 11))


def test_a_recorded_license_in_default_owes_its_cancellation_once(institution, staff, clock):
    lic, contract = signed_contract(institution, staff, clock)
    services.record_recordal(
        recordal_id=contract.recordals.get().pk, recordal_number="R9", recorded_on=dt.date(2026, 8, 10), by=staff
    )
    clock("2027-11-20")  # the price, due 2027-08-10 (12 months after the effect), unpaid for more than 90 days
    services.mark_overdue(license_id=lic.pk)
    services.declare_default(license_id=lic.pk, by=staff, reason="Unpaid.")
    services.write_off(license_id=lic.pk, by=staff, reason="Nothing to recover.")
    cancellation = contract.recordals.get(kind="cancellation")  # one, though it ended twice over
    assert cancellation.arose_on == dt.date(2027, 11, 20)
    text, _reader = read_pdf(contract)
    assert "归还或销毁" in text and squash("returns or destroys the technical materials") in text


def test_a_license_ended_before_its_recordal_was_filed_owes_no_cancellation(institution, staff, clock):
    lic, contract = signed_contract(institution, staff, clock)
    services.terminate(license_id=lic.pk, by=staff, reason="Ended before the recordal.")
    assert list(contract.recordals.values_list("kind", flat=True)) == ["recordal"]


def test_the_recordals_export_has_what_the_application_asks_one_row_per_contract(institution, staff, clock):
    from licensing.models import Export
    from licensing.reporting import exports
    from licensing.selectors import BookFilter

    lic, contract = signed_contract(institution, staff, clock)
    second = PatentFactory(owner=institution, title="Second", grant_date=dt.date(2021, 5, 4))
    LicensePatent.objects.create(license=lic, patent=second)
    unsigned = bought(OfferFactory(patent__owner=institution, price=D("1.00"), installment_count=0), staff, clock)
    services.issue_contract(license_id=unsigned.pk, by=staff)
    table = exports.export_table(Export.Kind.RECORDALS, BookFilter(institution=institution))
    rows = [dict(zip([str(c.label) for c in table.columns], row, strict=True)) for row in table.rows]
    assert len(rows) == 2
    row = next(r for r in rows if r["contract number"] == contract.number)
    assert row["licensor"] == institution.name and row["licensor's address"] == institution.address
    assert row["licensee's USCC"] == lic.enterprise.uscc and row["patents"] == 2
    lead = lic.offer.patent
    assert row["each patent: number title (filed / granted)"] == (
        f"{lead.number} {lead.title} (2019-03-01 / -); {second.number} Second (2019-03-01 / 2021-05-04)"
        if lead.number < second.number
        else f"{second.number} Second (2019-03-01 / 2021-05-04); {lead.number} {lead.title} (2019-03-01 / -)"
    )
    assert row["term from"] == dt.date(2026, 8, 10) and row["purchase price (CNY)"] == D("120000.00")
    assert (row["recordal"], row["file by"]) == ("due", dt.date(2026, 11, 10))
    # In the period: contracts taking effect in it (the unsigned one takes effect on no day yet).
    dated = BookFilter(institution=institution, date_from=dt.date(2026, 8, 1), date_to=dt.date(2026, 8, 31))
    assert [r[0] for r in exports.export_rows(Export.Kind.RECORDALS, dated)] == [contract.number]


# -- technology-contract registration ----------------------------------------------------------------


def test_registration_makes_the_fees_vat_exempt_and_the_dashboard_counts_unregistered_income(
    admin_client, institution, staff, clock
):
    from licensing.reporting.dashboard import build_dashboard
    from licensing.selectors import BookFilter

    lic, contract = signed_contract(institution, staff, clock)
    unsigned = bought(OfferFactory(patent__owner=institution, price=D("1.00"), installment_count=0), staff, clock)
    services.issue_contract(license_id=unsigned.pk, by=staff)
    with pytest.raises(ValidationError, match="once both parties have signed"):
        services.register_technology_contract(
            contract_id=unsigned.contract.pk, registration_number="R-1", registered_on=dt.date(2026, 8, 10), by=staff
        )
    clock("2026-08-12")
    services.record_payment(
        license_id=lic.pk,
        amount=D("5000.00"),
        paid_on=dt.date(2026, 8, 12),
        reference="B1",
        idempotency_key="b1",
        by=staff,
    )

    def contracts_table():
        table = build_dashboard(BookFilter(institution=institution), dt.date(2026, 8, 12)).tables["contracts"]
        return {str(row[0]): (row[1], row[2]) for row in table.rows}

    rows = contracts_table()
    assert rows["Signed, not registered as technology contracts, with income (VAT applies)"] == (1, D("5000.00"))
    assert rows["Issued, awaiting signatures"] == (1, None) and rows["Signed"] == (1, None)
    assert rows["CNIPA recordals to file"] == (1, None)
    page = admin_client.get(
        reverse("admin:licensing_contract_change", args=[contract.pk]), headers={"accept-language": "en"}
    )
    assert "VAT applies" in page.content.decode()
    for bad, field in (
        (dict(registration_number=""), "registration_number"),
        (dict(registered_on=dt.date(2026, 8, 9)), "registered_on"),
    ):
        data = {"registration_number": "2026110108000123", "registered_on": dt.date(2026, 8, 12), **bad}
        with pytest.raises(ValidationError) as refused:
            services.register_technology_contract(contract_id=contract.pk, by=staff, **data)
        assert field in refused.value.message_dict
    services.register_technology_contract(
        contract_id=contract.pk, registration_number="2026110108000123", registered_on=dt.date(2026, 8, 12), by=staff
    )
    contract.refresh_from_db()
    assert contract.vat_exempt and contract.registration_number == "2026110108000123"
    assert contracts_table()["Signed, not registered as technology contracts, with income (VAT applies)"] == (
        0,
        D("0.00"),
    )
    page = admin_client.get(
        reverse("admin:licensing_contract_change", args=[contract.pk]), headers={"accept-language": "en"}
    )
    assert "Exempt (registered technology contract)" in page.content.decode()
    event = AuditEvent.objects.filter(content_type__model="contract", changes__has_key="registered_on").get()
    assert event.by == staff and event.changes["registration_number"] == ["", "2026110108000123"]
    unregistered = set(Contract.objects.filter(Contract.unregistered_q()).values_list("pk", flat=True))
    assert unregistered == {c.pk for c in Contract.objects.all() if c.state == "signed" and not c.vat_exempt} == set()


# -- amendments ----------------------------------------------------------------------------------------


def test_an_amendment_is_a_new_version_under_the_same_number_and_a_new_price_is_spread_to_the_fen(
    institution, staff, clock
):
    offer = OfferFactory(patent__owner=institution, price=D("100000.00"), installment_count=3, first_due_months=0)
    lic = bought(offer, staff, clock, plan="installments")  # 33,333.33 + 33,333.33 + 33,333.34
    services.record_payment(
        license_id=lic.pk,
        amount=D("40000.00"),
        paid_on=lic.purchased_on,
        reference="A1",
        idempotency_key="a1",
        by=staff,
    )
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    with pytest.raises(ValidationError, match="Give a reason"):
        services.amend_contract(contract_id=contract.pk, changes={"price": "90000"}, reason="", by=staff)
    with pytest.raises(ValidationError) as refused:
        services.amend_contract(contract_id=contract.pk, changes={"price": "39999.99"}, reason="Lower", by=staff)
    assert "price" in refused.value.message_dict and "40,000.00" in refused.value.message_dict["price"][0]
    with pytest.raises(ValidationError, match="not amended here"):
        services.amend_contract(contract_id=contract.pk, changes={"trial_fee": "1"}, reason="x", by=staff)
    assert contract.versions.count() == 1

    version = services.amend_contract(
        contract_id=contract.pk,
        changes={"price": "90000.01", "territory": "Jiangsu"},
        reason="The parties agreed a lower price for Jiangsu only.",
        by=staff,
    )
    lic.refresh_from_db()
    assert version.version == 2 and version.contract.number == contract.number
    assert lic.price == D("90000.01") and lic.territory == "Jiangsu"
    purchase = list(lic.installments.filter(kind="purchase").order_by("sequence"))
    assert sum(i.amount for i in purchase) == D("90000.01")  # exactly, to the fen
    assert [i.paid_amount for i in purchase] == [D("33333.33"), D("6666.67"), D("0.00")]
    # what is still owed (50,000.01) spread over the open installments in proportion to what each owed
    assert [i.outstanding for i in purchase] == [D("0.00"), D("22222.22"), D("27777.79")]
    assert version.terms["price"] == "90000.01" and contract.versions.get(version=1).terms["price"] == "100000.00"
    text, _reader = read_pdf(contract, version=2)
    assert squash("The parties agreed a lower price for Jiangsu only.") in text and "Jiangsu" in text
    assert "取代第1版" in text and "人民币玖万元零壹分" in text
    first, _ = read_pdf(contract, version=1)
    assert "人民币壹拾万元整" in first  # the first version stays as it was, downloadable
    event = AuditEvent.objects.get(content_type__model="license", changes__has_key="price", reason__contains="Jiangsu")
    assert event.changes["price"] == ["100000.00", "90000.01"] and event.by == staff


def test_a_recorded_contract_amended_owes_a_change_recordal_and_the_package_can_change(institution, staff, clock):
    lic, contract = signed_contract(institution, staff, clock)
    recordal = contract.recordals.get()
    services.record_recordal(recordal_id=recordal.pk, recordal_number="R1", recorded_on=dt.date(2026, 8, 10), by=staff)
    extra = PatentFactory(owner=institution, title="Added by amendment")
    foreign = PatentFactory()
    with pytest.raises(ValidationError) as refused:
        services.amend_contract(contract_id=contract.pk, changes={}, patents=[extra, foreign], reason="x", by=staff)
    assert "package" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.amend_contract(
            contract_id=contract.pk, changes={"term_end": dt.date(2090, 1, 1)}, reason="Too long", by=staff
        )
    assert "term_end" in refused.value.message_dict
    services.amend_contract(
        contract_id=contract.pk,
        changes={"term_end": dt.date(2030, 12, 31)},
        patents=[lic.offer.patent, extra],
        reason="A second patent, to 2030.",
        by=staff,
    )
    lic.refresh_from_db()
    assert set(lic.patents.all()) == {lic.offer.patent, extra} and lic.term_end == dt.date(2030, 12, 31)
    change = contract.recordals.get(kind="change")
    assert (change.arose_on, change.due_by) == (dt.date(2026, 8, 10), dt.date(2026, 11, 10))
    text, _reader = read_pdf(contract, version=2)
    assert extra.number in text and "2030-12-31" in text
    with pytest.raises(ValidationError, match="Nothing to amend"):
        services.amend_contract(contract_id=contract.pk, changes={}, patents=None, reason="nothing", by=staff)


def test_the_amend_button_changes_only_what_the_officer_changed_and_the_sme_is_told(client, institution, staff, clock):
    from django.contrib.auth.models import Group

    from licensing.roles import TTO_STAFF_GROUP

    lic = bought(OfferFactory(patent__owner=institution, price=D("1000.00"), installment_count=0), staff, clock)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    for reminder_id in sweep.deliverable_reminder_ids():
        delivery.deliver_reminder(reminder_id)
    mail.outbox.clear()
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    client.cookies["django_language"] = "en"
    url = reverse("admin:licensing_contract_act", args=[contract.pk, "amend"])
    form = client.get(url).content.decode()
    assert "1,000.00" in form or "1000.00" in form
    data = {
        "territory": "Zhejiang",
        "field_of_use": "",
        "term_end": lic.term_end.isoformat() if lic.term_end else "",  # as the form shows it
        "price": "1,000.00",
        "package": [lic.offer.patent.pk],
        "reason": "Zhejiang only.",
    }
    done = client.post(url, data, follow=True).content.decode()
    assert "Version 2 of contract" in done
    lic.refresh_from_db()
    assert lic.territory == "Zhejiang" and lic.price == D("1000.00")
    event = AuditEvent.objects.get(content_type__model="license", reason="Zhejiang only.")
    assert set(event.changes) == {"territory"}  # nothing else moved
    for reminder_id in sweep.deliverable_reminder_ids():
        delivery.deliver_reminder(reminder_id)
    told = [m for m in mail.outbox if m.extra_headers["X-Reminder-Key"].startswith("contract_amended:")]
    assert len(told) == 1 and told[0].to == [lic.enterprise.contact_email] and "Zhejiang only." in told[0].body


def test_another_institutions_staff_never_see_its_contracts_recordals_or_their_buttons(
    client, institution, staff, clock, two_institutions
):
    _lic, contract = signed_contract(institution, staff, clock)
    recordal = contract.recordals.get()
    other = two_institutions["B"]["user"]
    client.force_login(other)
    for model, pk in (("contract", contract.pk), ("recordal", recordal.pk)):
        page = client.get(reverse(f"admin:licensing_{model}_change", args=[pk]))
        assert page.status_code == 302 and page.url == reverse("admin:index")
        assert client.get(reverse(f"admin:licensing_{model}_changelist")).context["cl"].result_count == 0
    for url, data in (
        (reverse("admin:licensing_recordal_act", args=[recordal.pk, "record"]), {"recordal_number": "X"}),
        (reverse("admin:licensing_contract_act", args=[contract.pk, "register"]), {"registration_number": "X"}),
        (reverse("admin:licensing_contract_act", args=[contract.pk, "amend"]), {"reason": "X"}),
        (reverse("admin:licensing_contract_signed_copy", args=[contract.pk, "signed_copy"]), None),
    ):
        response = client.post(url, data) if data is not None else client.get(url)
        assert response.status_code == 404, url
    recordal.refresh_from_db()
    contract.refresh_from_db()
    assert recordal.state == "due" and not contract.registration_number and contract.versions.count() == 1


def test_rescheduling_what_is_owed_of_the_price_closes_the_open_installments_and_splits_the_rest_exactly(
    institution, staff, clock
):
    offer = OfferFactory(patent__owner=institution, price=D("100000.00"), installment_count=3, first_due_months=0)
    lic = bought(offer, staff, clock, plan="installments")  # 33,333.33 + 33,333.33 + 33,333.34 from 2026-07-31
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    services.record_signing(
        contract_id=contract.pk,
        signed_copy=signed_pdf(),
        signed_on=dt.date(2026, 7, 31),
        effective_on=lic.purchased_on,
        by=staff,
    )
    services.record_payment(
        license_id=lic.pk,
        amount=D("40000.00"),
        paid_on=dt.date(2026, 7, 31),
        reference="S1",
        idempotency_key="s1",
        by=staff,
    )
    clock("2026-09-01")
    for bad, field in (
        ({"count": 0, "interval_months": 3, "first_due": dt.date(2026, 10, 1)}, "count"),
        ({"count": 4, "interval_months": 3, "first_due": dt.date(2026, 8, 31)}, "first_due"),  # in the past
        ({"count": 4, "interval_months": 25, "first_due": dt.date(2026, 10, 1)}, "interval_months"),
        ({"count": 120, "interval_months": 24, "first_due": dt.date(2026, 10, 1)}, "count"),  # past the patent
    ):
        with pytest.raises(ValidationError) as refused:
            services.amend_contract(contract_id=contract.pk, changes={"schedule": bad}, reason="x", by=staff)
        assert field in refused.value.message_dict, bad
    services.amend_contract(
        contract_id=contract.pk,
        changes={"schedule": {"count": 4, "interval_months": 3, "first_due": dt.date(2026, 10, 1)}},
        reason="Hard times: four quarterly payments.",
        by=staff,
    )
    lic.refresh_from_db()
    rows = list(lic.installments.filter(kind="purchase").order_by("sequence"))
    assert [(i.sequence, i.amount, i.paid_amount, i.state) for i in rows[:2]] == [
        (1, D("33333.33"), D("33333.33"), "paid"),
        (2, D("6666.67"), D("6666.67"), "paid"),  # closed at what was paid on it
    ]
    assert [(i.sequence, i.amount, i.due_date) for i in rows[2:]] == [
        (4, D("15000.00"), dt.date(2026, 10, 1)),
        (5, D("15000.00"), dt.date(2027, 1, 1)),
        (6, D("15000.00"), dt.date(2027, 4, 1)),
        (7, D("15000.00"), dt.date(2027, 7, 1)),
    ]
    assert sum(i.amount for i in rows) == D("100000.00") and lic.outstanding == D("60000.00")
    assert (lic.plan, lic.installment_count) == ("installments", 6)
    assert AuditEvent.objects.filter(content_type__model="installment", action="deleted").count() == 1
    text, _reader = read_pdf(contract, version=2)
    assert "2027-07-01" in text and "人民币壹万伍仟元整" in text  # the document lists the days
    assert squash("Hard times: four quarterly payments.") in text
