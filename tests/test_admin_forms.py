"""TTO staff enter patents and enterprises: identifiers are checked and normalised, errors are
clear in the user's language, and a refused form saves nothing."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from licensing.demo.identifiers import make_uscc
from licensing.models import Enterprise, Patent
from licensing.roles import TTO_STAFF_GROUP


@pytest.fixture
def officer(staff, client):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    return staff


def patent_form(institution, number):
    return {
        "number": number,
        "title": "一种柔性压力传感器",
        "ipc_class": "G01L 1/18",
        "owner": institution.pk,
        "filing_date": "2021-05-10",
        "expiry_date": "",
        "legal_status": "valid",
    }


def test_patent_number_is_normalised_and_type_and_expiry_derived(client, officer, institution):
    response = client.post(reverse("admin:licensing_patent_add"), patent_form(institution, "ZL 2017 1 0601862.3"))

    assert response.status_code == 302
    patent = Patent.objects.get()
    assert (patent.number, patent.patent_type, str(patent.expiry_date)) == ("201710601862.3", "invention", "2041-05-10")


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The check digit of patent number ZL 2017 1 0601862.4 is wrong."),
        ("zh-hans", "专利号 ZL 2017 1 0601862.4 的校验位不正确。"),
    ],
)
def test_wrong_patent_check_digit_is_refused_in_the_users_language(client, officer, institution, language, message):
    response = client.post(
        reverse("admin:licensing_patent_add"),
        patent_form(institution, "ZL 2017 1 0601862.4"),
        headers={"accept-language": language},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["number"] == [message]
    assert not Patent.objects.exists()


def test_staff_cannot_file_a_patent_under_another_institution(client, officer, institution):
    from .factories import InstitutionFactory

    other = InstitutionFactory()
    response = client.post(
        reverse("admin:licensing_patent_add"), {**patent_form(institution, "201710601862.3"), "owner": other.pk}
    )

    assert "owner" in response.context["adminform"].form.errors
    assert not Patent.objects.exists()


def enterprise_form(uscc):
    return {
        "name": "苏州微纳传感有限公司",
        "uscc": uscc,
        "industry": "software_it",
        "employees": "120",
        "annual_revenue": "3000",
        "contact_email": "ip@sme.example.cn",
        "language": "en",
    }


def test_enterprise_gets_its_size_class_from_the_miit_thresholds(client, officer):
    response = client.post(reverse("admin:licensing_enterprise_add"), enterprise_form(make_uscc(4242).lower()))

    assert response.status_code == 302
    enterprise = Enterprise.objects.get()
    assert (enterprise.uscc, enterprise.size_class) == (make_uscc(4242), "medium")


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "is not a valid Unified Social Credit Code"), ("zh-hans", "不是有效的统一社会信用代码")],
)
def test_bad_uscc_is_refused_in_the_users_language(client, officer, language, message):
    bad = make_uscc(4242)[:-1] + ("A" if make_uscc(4242)[-1] != "A" else "B")

    response = client.post(
        reverse("admin:licensing_enterprise_add"), enterprise_form(bad), headers={"accept-language": language}
    )

    assert message in response.context["adminform"].form.errors["uscc"][0]
    assert not Enterprise.objects.exists()


def test_published_offer_terms_cannot_be_edited(client, officer, offer):
    response = client.get(reverse("admin:licensing_offer_change", args=[offer.pk]))
    form_fields = response.context["adminform"].form.fields

    assert "price" not in form_fields and "trial_months" not in form_fields
    client.post(reverse("admin:licensing_offer_change", args=[offer.pk]), {"price": "1.00"})
    offer.refresh_from_db()
    assert offer.price == 100000


def test_draft_offer_with_no_payment_plan_is_refused(client, officer, institution):
    from .factories import PatentFactory

    patent = PatentFactory(owner=institution)
    data = {
        "patent": patent.pk,
        "trial_months": "6",
        "trial_fee": "0",
        "price": "50000",
        "installment_count": "0",
        "installment_interval_months": "3",
        "first_due_months": "0",
        "grace_days": "90",
        "equity_max_share": "0",
        "coverage_ratio": "0.8",
    }  # lump sum unchecked, no installments

    response = client.post(reverse("admin:licensing_offer_add") + "?shape=fixed", data)

    assert "要约至少需要一种付款方式" in response.context["adminform"].form.errors["installment_count"][0]
    from licensing.models import Offer

    assert not Offer.objects.exists()
