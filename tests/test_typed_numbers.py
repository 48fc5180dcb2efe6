"""Issue 21, point 4.2: one parser for every typed amount, rate and count. ASCII digits; full-width
ones typed with a Chinese input method are converted and shown converted; any other script,
underscores, exponents and signs are refused in the user's language, writing nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from licensing import services
from licensing.domain.numbers import parse_number
from licensing.models import Offer, PaymentReport

from .factories import OfferFactory

REFUSED = [
    "١٢٣",
    "१२३",
    "1_000",
    "+5",
    "1e2",
    "0E+9999",
    "-0",
    "1,00",
    "12,3456",
    ",100",
    "1,,000",
    "1,000,",
    "12 3",
    "0x10",
    "NaN",
    "Infinity",
    "",
    ".",
]


@pytest.mark.parametrize("text", REFUSED)
def test_the_parser_refuses_what_is_not_a_plain_number(text):
    with pytest.raises(ValidationError):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("123", "123"),
        ("１２３", "123"),
        ("１２３．５０", "123.50"),
        (" 40000.00 ", "40000.00"),
        (".5", "0.5"),
        ("50,000.00", "50000.00"),  # as the pages show amounts, copied into a form
        ("１，２３４，５６７", "1234567"),  # full-width, typed with a Chinese input method
    ],
)
def test_the_parser_reads_ascii_and_full_width_digits(text, number):
    assert parse_number(text) == Decimal(number)
    assert str(parse_number(text)) == number


def test_whole_numbers_refuse_fractions_and_code_values_must_be_finite_and_not_negative():
    assert parse_number("４０", whole=True) == 40
    assert parse_number("1,000", whole=True) == 1000
    for bad in ("4.0", "4.", Decimal("-1"), Decimal("NaN"), Decimal("-0"), True):
        with pytest.raises(ValidationError):
            parse_number(bad, whole=bad not in (Decimal("-1"), Decimal("NaN"), Decimal("-0"), True))


@pytest.fixture
def bought(offer, make_license, staff, clock):
    clock("2026-03-02")
    lic = make_license(offer, "trial", start="2026-03-02")
    return services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)


@pytest.mark.parametrize("amount", ["١٢٣", "१२३", "1_000", "+5", "1e2", "0E+9999", "-0"])
@pytest.mark.parametrize(("language", "message"), [("en", "digits 0-9"), ("zh-hans", "数字 0-9")])
def test_the_portal_refuses_other_numbers_in_the_users_language_and_writes_nothing(
    sme_client, bought, amount, language, message
):
    sme_client.cookies["django_language"] = language
    data = {"amount": amount, "paid_on": "2026-03-02", "reference": "ICBC-7"}
    page = sme_client.post(f"/licenses/{bought.pk}/payments/new/", data)
    assert page.status_code == 200
    body = page.content.decode()
    assert message in body or "不能为负" in body or "cannot be negative" in body
    assert not PaymentReport.objects.exists()


def test_full_width_digits_are_converted_and_stored_as_read(sme_client, bought):
    data = {"amount": "１２３．５０", "paid_on": "2026-03-02", "reference": "ICBC-7"}
    assert sme_client.post(f"/licenses/{bought.pk}/payments/new/", data).status_code == 302
    assert PaymentReport.objects.get().amount == Decimal("123.50")


def test_a_page_shown_again_shows_the_converted_number(sme_client, bought):
    data = {"amount": "１２３", "paid_on": "2026-03-02", "reference": ""}  # refused: no reference
    page = sme_client.post(f"/licenses/{bought.pk}/payments/new/", data).content.decode()
    assert 'value="123"' in page and "１２３" not in page


def test_services_read_numbers_with_the_same_parser(bought, staff):
    with pytest.raises(ValidationError, match="digits 0-9"):
        services.record_payment(
            license_id=bought.pk,
            amount="1_000",
            paid_on=dt.date(2026, 3, 2),
            by=staff,
            reference="B",
            idempotency_key="k",
        )
    payment = services.record_payment(
        license_id=bought.pk, amount="１００", paid_on=dt.date(2026, 3, 2), by=staff, reference="B", idempotency_key="k"
    )
    assert payment.amount == Decimal("100")


@pytest.mark.parametrize(("amount", "ok"), [("1e2", False), ("１００", True)])
def test_the_admins_payment_button_reads_the_same_way(admin_client, bought, amount, ok):
    url = reverse("admin:licensing_license_act", args=[bought.pk, "record_payment"])
    data = {"amount": amount, "paid_on": "2026-03-02", "reference": "B-9", "idempotency_key": "x1"}
    page = admin_client.post(url, data, headers={"accept-language": "zh-hans"})
    assert (page.status_code == 302) is ok, page.content.decode()[:500]
    assert bought.payments.exists() is ok
    if not ok:
        assert "数字 0-9" in page.content.decode()


def test_rates_typed_in_full_width_are_stored_in_the_one_form_the_parser_reads(institution):
    offer = OfferFactory(patent__owner=institution)
    offer.royalty_base, offer.royalty_rates = "net_sales", "３％ up to １０,０００,０００；２％"
    offer.full_clean(exclude=["state"])
    assert offer.royalty_rates == "3% up to 10,000,000; 2%"
    offer.royalty_rates = "٣%"
    with pytest.raises(ValidationError) as refused:
        offer.full_clean(exclude=["state"])
    assert "royalty_rates" in refused.value.message_dict
    assert Offer.objects.filter(royalty_rates__contains="٣").count() == 0


NOT_A_NUMBER = (
    "Enter a number with the digits 0-9 and at most one decimal point, commas only between thousands "
    "(no sign, exponent or spaces)."
)
NOT_WHOLE = (
    "Enter a whole number with the digits 0-9, commas only between thousands (no sign, decimal point or spaces)."
)


@pytest.mark.parametrize(
    ("value", "whole", "code", "message"),
    [
        ("1e2", False, "invalid", NOT_A_NUMBER),
        ("4.5", True, "invalid", NOT_WHOLE),
        ("-5", False, "negative", "This number cannot be negative."),
        ("-5", True, "negative", "This number cannot be negative."),
        ("-5.5", True, "invalid", NOT_WHOLE),
        (True, False, "invalid", NOT_A_NUMBER),
        (Decimal("NaN"), False, "invalid", NOT_A_NUMBER),
        (Decimal("-1"), True, "invalid", NOT_WHOLE),
        (Decimal("2.5"), True, "invalid", NOT_WHOLE),
    ],
)
def test_each_refusal_has_its_code_and_words(value, whole, code, message):
    """Issue 21, point 5: the codes and words were not held (mutants that dropped them lived)."""
    with pytest.raises(ValidationError) as refused:
        parse_number(value, whole=whole)
    assert (refused.value.code, refused.value.messages) == (code, [message])
    assert parse_number(Decimal("2.0"), whole=True) == 2 and parse_number(7, whole=True) == 7
