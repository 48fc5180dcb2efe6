"""Sign-up (staff approve the member), password reset that reveals nothing, throttled logins."""

import re

import pytest
from django.core import mail

from licensing import services
from licensing.demo.identifiers import make_uscc
from licensing.models import Enterprise, EnterpriseMember

from .factories import EnterpriseFactory


def sign_up_data(uscc, username="li"):
    return {
        "user-username": username,
        "user-email": f"{username}@sme.example",
        "user-password1": "Tr1al-and-pay!",
        "user-password2": "Tr1al-and-pay!",
        "user-full_name": "Li Na",
        "user-privacy_consent": "on",
        "enterprise-name": "Suzhou Graphene Co.",
        "enterprise-uscc": uscc,
        "enterprise-industry_section": "C",
        "enterprise-industry": "industry",
        "enterprise-employees": "40",
        "enterprise-annual_revenue": "1800",
        "enterprise-contact_email": "finance@sme.example",
    }


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


@pytest.mark.django_db
def test_sign_up_creates_the_enterprise_and_a_member_awaiting_approval(client, staff):
    response = client.post("/signup/", sign_up_data(make_uscc(88_000_001)), headers={"accept-language": "zh-hans"})

    assert response.status_code == 200 and "感谢注册" in response.content.decode()
    member = EnterpriseMember.objects.get(user__username="li")
    assert member.state == EnterpriseMember.State.PENDING
    assert member.enterprise.size_class and member.enterprise.language == "zh-hans"
    services.approve_member(member_id=member.pk, by=staff)
    member.refresh_from_db()
    assert member.state == EnterpriseMember.State.ACTIVE


@pytest.mark.django_db
def test_sign_up_with_a_registered_uscc_joins_that_enterprise(client):
    existing = EnterpriseFactory()
    client.post("/signup/", sign_up_data(existing.uscc))

    assert EnterpriseMember.objects.get(user__username="li").enterprise == existing
    assert Enterprise.objects.count() == 1


@pytest.mark.django_db
def test_bad_uscc_is_refused_in_the_users_language_and_nothing_is_created(client):
    response = client.post("/signup/", sign_up_data("91110000ABCDEFGHIJ"), headers={"accept-language": "zh-hans"})

    assert response.status_code == 200
    assert "统一社会信用代码" in response.content.decode()
    assert not EnterpriseMember.objects.exists() and not Enterprise.objects.exists()


@pytest.mark.django_db
def test_password_reset_page_reads_the_same_whether_or_not_the_account_exists(
    client, make_member, django_capture_on_commit_callbacks
):
    member = make_member()
    member.user.email = "known@sme.example"
    member.user.save()

    with django_capture_on_commit_callbacks(execute=True):  # the worker's task, run eagerly here
        known = client.post("/password/reset/", {"email": "known@sme.example"}, follow=True)
        unknown = client.post("/password/reset/", {"email": "nobody@sme.example"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert without_csrf(known) == without_csrf(unknown)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["known@sme.example"]
    assert "/password/reset/" in mail.outbox[0].body


@pytest.mark.django_db
def test_failed_logins_are_throttled(client, make_member, settings):
    member = make_member()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": member.user.username, "password": "wrong"})

    response = client.post(
        "/login/", {"username": member.user.username, "password": "pw-Secret-123"}, headers={"accept-language": "en"}
    )
    assert response.status_code == 429 and b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
