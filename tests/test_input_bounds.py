"""Every date, number and text a person enters has bounds, enforced by the model or the service
(so by every form, admin page and command), refused with a reason in the user's language, and
nothing is written: dates in a sane window, offer terms that cannot overflow a schedule or outlive
the patent, money never negative, names on one visible line, reasons of a bounded length."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from licensing import services
from licensing.demo.identifiers import make_patent_number
from licensing.domain.text import multi_line, single_line
from licensing.models import AuditEvent, InsurancePolicy, License, Offer, Patent, Payment

from .factories import EnterpriseFactory, OfferFactory, PatentFactory


def refused(field, call, *args, **kwargs):
    with pytest.raises(ValidationError) as error:
        call(*args, **kwargs)
    assert field in error.value.message_dict, error.value
    return error.value.message_dict[field]


# -- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "paid_on", [dt.date(1, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 8, 2), dt.date(9999, 12, 31)]
)
def test_payment_dates_outside_applied_to_today_are_refused(two_institutions, paid_on):
    a = two_institutions["A"]  # applied 2026-08-01 (the clock), today 2026-08-01
    before = Payment.objects.count()
    for call in (services.record_payment, services.report_payment):
        kwargs = {"idempotency_key": "k"} if call is services.record_payment else {}
        refused(
            "paid_on",
            call,
            license_id=a["license"].pk,
            amount=Decimal("1.00"),
            paid_on=paid_on,
            reference="R",
            by=a["user"],
            **kwargs,
        )
    assert Payment.objects.count() == before and not a["license"].payment_reports.exists()


@pytest.mark.parametrize("start", [dt.date(1, 1, 1), dt.date(2024, 1, 1), dt.date(2028, 1, 1), dt.date(9999, 1, 1)])
def test_trial_starts_far_from_the_application_are_refused(offer, staff, clock, start):
    clock("2026-03-01")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    messages = refused("start", services.approve_trial, license_id=lic.pk, by=staff, start=start)
    assert "Enter a date from 2025-02-28 to 2027-03-02" in messages[0]
    lic.refresh_from_db()
    assert lic.state == License.State.APPLIED


@pytest.mark.parametrize("on", [dt.date(1, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 9, 1), dt.date(9999, 12, 1)])
def test_purchase_dates_outside_the_trial_are_refused(offer, make_license, staff, clock, on):
    clock("2026-01-31")
    lic = make_license(offer, "trial")  # 2026-01-31 .. 2026-07-31
    refused("on", services.purchase, license_id=lic.pk, plan="lump_sum", by=staff, on=on)
    lic.refresh_from_db()
    assert lic.state == License.State.TRIAL and not lic.installments.exists()


@pytest.mark.parametrize(
    ("filing", "expiry", "field"),
    [
        (dt.date(1, 1, 1), None, "filing_date"),
        (dt.date(1985, 3, 31), None, "filing_date"),
        (dt.date(2999, 1, 1), None, "filing_date"),
        (dt.date(2019, 3, 1), dt.date(9999, 1, 1), "expiry_date"),
    ],
)
def test_patent_dates_outside_their_window_are_refused(institution, filing, expiry, field):
    patent = Patent(
        number=make_patent_number(2019, 1), title="T", ipc_class="A01B", owner=institution, filing_date=filing
    )
    patent.expiry_date = expiry
    refused(field, patent.full_clean)


def test_the_dashboard_refuses_a_period_outside_the_book_and_draws_no_such_range(admin_client):
    response = admin_client.get(
        reverse("admin:dashboard"), {"date_from": "0001-01-01"}, headers={"accept-language": "en"}
    )
    assert response.status_code == 200 and response.context["board"] is None
    assert b"Enter a date from 1985-04-01" in response.content


# -- offer terms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"first_due_months": 32767}, "first_due_months"),
        ({"installment_interval_months": 32767}, "installment_interval_months"),
        ({"installment_count": 121}, "installment_count"),
        ({"grace_days": 30000}, "grace_days"),
        ({"price": Decimal("99999999999.00")}, "price"),
        ({"trial_fee": Decimal("-1.00")}, "trial_fee"),
        ({"trial_months": 0}, "trial_months"),
    ],
)
def test_offer_terms_beyond_their_bounds_are_refused_when_entered(institution, terms, field):
    offer = Offer(patent=PatentFactory(owner=institution), **{"trial_months": 6, "price": Decimal("1000.00"), **terms})
    refused(field, offer.full_clean, exclude=["state"])


def test_an_offer_whose_schedule_outlives_the_patent_cannot_be_published(institution, staff, clock):
    clock("2026-03-01")
    patent = PatentFactory(owner=institution, filing_date=dt.date(2007, 3, 1))  # expires 2027-03-01
    offer = OfferFactory(patent=patent, state=Offer.State.DRAFT, installment_count=12, installment_interval_months=6)
    with pytest.raises(ValidationError, match="after the patent expires on 2027-03-01"):
        services.publish_offer(offer_id=offer.pk, by=staff)
    offer.refresh_from_db()
    assert offer.state == Offer.State.DRAFT


def test_the_admin_refuses_overflowing_terms_with_a_message(admin_client, institution):
    patent = PatentFactory(owner=institution)
    response = admin_client.post(
        reverse("admin:licensing_offer_add") + "?shape=fixed",
        {
            "patent": patent.pk,
            "trial_months": 6,
            "trial_fee": "0",
            "price": "1000",
            "lump_sum_allowed": "on",
            "installment_count": 120,
            "installment_interval_months": 32767,
            "first_due_months": 32767,
            "grace_days": 90,
            "equity_max_share": "0",
            "coverage_ratio": "0.8",
        },
        headers={"accept-language": "en"},
    )
    assert response.status_code == 200 and not Offer.objects.exists()
    assert b"Ensure this value is less than or equal to 24" in response.content


# -- money -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("premium", [Decimal("-0.01"), Decimal("-1000")])
def test_negative_premiums_are_refused(offer, make_license, staff, clock, premium):
    clock("2026-01-31")
    lic = make_license(offer, "trial")
    refused(
        "premium",
        services.register_policy,
        license_id=lic.pk,
        by=staff,
        insurer="PICC",
        policy_number="P-1",
        coverage_ratio=Decimal("0.8"),
        premium=premium,
        starts_on=dt.date(2026, 1, 31),
        ends_on=dt.date(2027, 1, 31),
    )
    assert not InsurancePolicy.objects.exists()


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1e400", "-5", "0.001", "1000000000000000"])
def test_amounts_that_are_not_money_are_refused(two_institutions, amount):
    a = two_institutions["A"]
    refused(
        "amount",
        services.record_payment,
        license_id=a["license"].pk,
        amount=amount,
        paid_on=dt.date(2026, 8, 1),
        reference="R",
        idempotency_key="k",
        by=a["user"],
    )


# -- text ------------------------------------------------------------------------------------------

BAD_SINGLE_LINE = [
    "Acme\nCo.",
    "Acme\rCo.",
    "Acme\tCo.",
    "Acme\x00",
    "Acme\x1b[31m",
    "Acme\u2028Co.",
    "\u200b\u200b",  # zero-width spaces only
    "\u202e\u202d",  # direction overrides only
    "Acme \u202eoC",  # a reversed tail
    "   \u200d ",
    # Issue 21, point 4.3: invisible characters inside a visible name
    "Acme\u200bCo.",  # zero-width space
    "\ufeffAcme",  # byte-order mark
    "Ac\u2060me",  # word joiner
    "\u200b=1+1",  # hides a formula from a CSV guard that reads the first character
]


@pytest.mark.parametrize("value", BAD_SINGLE_LINE)
def test_single_line_fields_refuse_control_and_invisible_characters(value):
    with pytest.raises(ValidationError):
        single_line(value)


@pytest.mark.parametrize("value", ["华科新材料有限公司", "Acme Co., Ltd.", "O'Brien & Sons (上海)", "émigré"])
def test_ordinary_names_pass(value):
    single_line(value)
    multi_line(value + "\nsecond line")


SIGN_UP = {
    "user-username": "newuser",
    "user-email": "new@sme.example",
    "user-password1": "a-Long-pass-2026",
    "user-password2": "a-Long-pass-2026",
    "user-full_name": "王芳",
    "user-privacy_consent": "on",
    "enterprise-name": "华科新材料有限公司",
    "enterprise-uscc": "91350100M000100Y43",
    "enterprise-industry_section": "C",
    "enterprise-industry": "industry",
    "enterprise-employees": "10",
    "enterprise-annual_revenue": "100",
}


@pytest.mark.parametrize("name", BAD_SINGLE_LINE[:3] + BAD_SINGLE_LINE[4:5] + BAD_SINGLE_LINE[6:9])
def test_sign_up_refuses_such_names_in_the_users_language_and_creates_nothing(client, db, name):
    response = client.post("/signup/", {**SIGN_UP, "enterprise-name": name}, headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    body = response.content.decode()
    assert any(word in body for word in ("换行", "控制字符", "可见字符", "方向"))
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("enterprise-name", "华科\u200b新材料"),
        ("user-email", "new@sme\u200b.example"),
        ("enterprise-contact_email", "a@b\ufeff.cn"),
    ],
)
@pytest.mark.parametrize(("language", "message"), [("zh-hans", "不可见字符"), ("en", "invisible characters")])
def test_sign_up_refuses_invisible_characters_inside_names_and_addresses(client, db, field, value, language, message):
    response = client.post("/signup/", {**SIGN_UP, field: value}, headers={"accept-language": language})
    assert response.status_code == 200 and message in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_a_newline_that_reached_a_name_does_not_break_the_calendar(sme_client):
    """Old rows written before the rule: the feed escapes what it prints."""
    enterprise = sme_client.member.enterprise
    type(enterprise).objects.filter(pk=enterprise.pk).update(name="Acme\nCo.")
    response = sme_client.get(f"/calendar/{sme_client.member.calendar_token}.ics")
    assert response.status_code == 200 and b"Acme\\nCo." in response.content


@pytest.mark.parametrize("reason", ["x" * 1001, "\x00", "\u200b"])
def test_reasons_have_a_length_limit_and_visible_text(two_institutions, reason):
    a = two_institutions["A"]
    refused("reason", services.terminate, license_id=a["license"].pk, by=a["user"], reason=reason)
    a["license"].refresh_from_db()
    assert a["license"].state == License.State.PURCHASED


def test_messages_are_in_the_users_language():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as error:
            single_line("a\nb")
        assert "换行" in error.value.messages[0]
