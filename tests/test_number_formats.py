"""Money reads the same in both languages: grouped by thousands, two decimals (issue 15, point 11)."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.template import Context, Template
from django.utils import translation

from licensing.domain.numbers import percent

from .factories import OfferFactory


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_money_is_grouped_by_thousands_in_both_languages(language):
    with translation.override(language):
        rendered = Template('{{ amount|floatformat:"2g" }}').render(Context({"amount": Decimal("1200000")}))
    assert rendered == "1,200,000.00"


def test_the_chinese_license_page_shows_grouped_amounts(sme_client, offer, make_license, clock):
    clock("2026-01-31")
    lic = make_license(offer, "purchased", enterprise=sme_client.member.enterprise)  # 100,000.00 in 3
    sme_client.cookies["django_language"] = "zh-hans"
    page = sme_client.get(f"/licenses/{lic.pk}/").content.decode()
    assert "33,333.34" in page and "100,000.00" in page


def test_a_second_confirmation_of_a_purchase_lands_on_the_license_and_changes_nothing(
    sme_client, offer, make_license, clock
):
    """Issue 15, point 10: the README promises a stale page or a second click changes nothing and
    says so; it used to answer 404."""
    from licensing.models import Installment

    clock("2026-03-02")
    lic = make_license(offer, "trial", enterprise=sme_client.member.enterprise, start="2026-03-02")
    confirm = {"seen_state": "trial", "plan": "lump_sum", "confirmed": "on"}
    assert sme_client.post(f"/licenses/{lic.pk}/buy/", confirm).status_code == 302
    count = Installment.objects.filter(license=lic).count()

    again = sme_client.post(f"/licenses/{lic.pk}/buy/", confirm, follow=True)

    assert again.redirect_chain == [(f"/licenses/{lic.pk}/", 302)]
    assert "nothing to buy; nothing was done" in again.content.decode()
    assert Installment.objects.filter(license=lic).count() == count


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [("0.8000", "80%"), ("0.5", "50%"), ("0.0026", "0.26%"), ("1", "100%"), ("0", "0%"), ("0.012345", "1.2345%")],
)
def test_ratios_read_as_percentages(fraction, shown):
    assert percent(Decimal(fraction)) == shown


@pytest.mark.parametrize(
    ("language", "words"), [("en", "it covers 80% of what is unpaid"), ("zh-hans", "未付款项的 80%")]
)
def test_the_offer_page_shows_coverage_and_equity_share_as_percentages(client, institution, language, words):
    offer = OfferFactory(
        patent__owner=institution,
        insurance_required=True,
        coverage_ratio=Decimal("0.8000"),
        equity_allowed=True,
        equity_max_share=Decimal("0.5000"),
    )
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": language}).content.decode()
    assert words in page and "50%" in page
    # No ratio as a bare fraction ("0.8"); a patent number such as 201910100350.8 is not one.
    assert not re.search(r"(?<![0-9])0\.8", page) and "as a fraction" not in page and "（比例）" not in page


def test_the_admin_shows_coverage_as_a_percentage(client, superuser, make_insured_default):
    lic = make_insured_default()
    client.force_login(superuser)  # after the clock moved
    page = client.get(f"/admin/licensing/license/{lic.pk}/change/", headers={"accept-language": "en"})
    assert "80%" in page.content.decode() and "0.8000" not in page.content.decode()


def test_one_day_is_singular_in_the_emails(offer, staff, clock):
    import datetime as dt

    from licensing import services, tasks
    from licensing.models import ReminderSchedule

    from .conftest import tell_the_story_so_far
    from .factories import EnterpriseFactory

    clock("2026-03-02")
    enterprise = EnterpriseFactory(contact_email="a@sme.example", language="en")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))  # ends 2026-09-02
    ReminderSchedule.objects.create(institution=lic.offer.patent.owner, trial_ending_days="1")
    tell_the_story_so_far()
    clock("2026-09-01")
    tasks.sweep()
    assert [m.subject for m in mail.outbox] == [f"Your trial of patent {lic.offer.patent.number} ends in 1 day"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_admin_shows_money_grouped_in_lists_pages_and_inlines(
    admin_client, make_license, offer, staff, clock, language
):
    import datetime as dt

    from licensing import services

    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")  # 100,000.00 in 3
    services.record_payment(
        license_id=lic.pk,
        amount="12345.67",
        paid_on=dt.date(2026, 8, 1),
        reference="R1",
        idempotency_key="k1",
        by=staff,
    )
    headers = {"accept-language": language}
    page = admin_client.get(f"/admin/licensing/license/{lic.pk}/change/", headers=headers).content.decode()
    assert "33,333.34" in page and "12,345.67" in page and "33333.34" not in page  # the schedule and payments
    listing = admin_client.get("/admin/licensing/payment/", headers=headers).content.decode()
    assert '<td class="field-amount">12,345.67</td>' in listing


def test_no_amount_reads_as_a_dash():
    from licensing.domain.numbers import money_text

    assert (money_text(None), money_text(0), money_text(Decimal("1234567.5"))) == ("—", "0.00", "1,234,567.50")
