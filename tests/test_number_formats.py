"""Money reads the same in both languages: grouped by thousands, two decimals (issue 15, point 11)."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation


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
