"""Sign-up and password reset cannot be abused: two identical sign-ups at once make one account
and the second is told so; resets and sign-ups are throttled per address and per client; the
reset email is sent by the worker, so the page answers alike for known and unknown addresses."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client

from licensing.models import Enterprise, EnterpriseMember, RateLimit

SIGN_UP = {
    "user-username": "wangfang",
    "user-email": "wang@sme.example",
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_sign_ups_at_once_make_one_account(postgres_only, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sign_up": {"per_email": 100, "per_client": 100}}
    statuses, barrier = [], threading.Barrier(6)

    def sign_up():
        barrier.wait()
        try:
            statuses.append(Client().post("/signup/", SIGN_UP, headers={"accept-language": "en"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.status_code for r in statuses) == [200] * 6  # no 500
    assert get_user_model().objects.filter(username="wangfang").count() == 1
    assert Enterprise.objects.count() == 1 and EnterpriseMember.objects.count() == 1
    told = [r for r in statuses if b"username" in r.content.lower() and b"exists" in r.content]
    assert len(told) == 5


def test_sign_up_twice_in_a_row_is_told_the_account_exists(client, db):
    assert client.post("/signup/", SIGN_UP).status_code == 200 and EnterpriseMember.objects.count() == 1
    again = client.post("/signup/", SIGN_UP, headers={"accept-language": "en"})
    assert again.status_code == 200 and b"already exists" in again.content
    assert get_user_model().objects.filter(username="wangfang").count() == 1


def test_sign_ups_are_throttled_per_client(client, db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sign_up": {"per_email": 100, "per_client": 3}}
    for n in range(3):
        data = {**SIGN_UP, "user-username": f"user{n}", "user-email": f"u{n}@sme.example"}
        assert client.post("/signup/", data).status_code == 200
    blocked = client.post(
        "/signup/",
        {**SIGN_UP, "user-username": "user9", "user-email": "u9@sme.example"},
        headers={"accept-language": "en"},
    )
    assert blocked.status_code == 429 and b"Too many sign-ups" in blocked.content
    assert not get_user_model().objects.filter(username="user9").exists()


def test_password_resets_are_throttled_per_address(client, make_member, settings, django_capture_on_commit_callbacks):
    member = make_member()
    member.user.email = "known@sme.example"
    member.user.save()
    for _ in range(settings.RATE_LIMITS["password_reset"]["per_email"]):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post("/password/reset/", {"email": "known@sme.example"}).status_code == 302
    blocked = client.post("/password/reset/", {"email": "KNOWN@sme.example"}, headers={"accept-language": "en"})
    assert blocked.status_code == 429 and b"Too many password reset requests" in blocked.content
    assert len(mail.outbox) == settings.RATE_LIMITS["password_reset"]["per_email"]


def test_password_resets_are_throttled_per_client(client, db, settings):
    limit = settings.RATE_LIMITS["password_reset"]["per_client"]
    for n in range(limit):
        assert client.post("/password/reset/", {"email": f"nobody{n}@sme.example"}).status_code == 302
    assert client.post("/password/reset/", {"email": "another@sme.example"}).status_code == 429
    # another client is not affected
    assert Client(REMOTE_ADDR="192.0.2.7").post("/password/reset/", {"email": "x@sme.example"}).status_code == 302
    assert RateLimit.objects.filter(key__contains="@").count() == 0  # addresses are stored hashed


def test_the_reset_email_is_sent_by_the_worker_task(
    client, make_member, monkeypatch, django_capture_on_commit_callbacks
):
    member = make_member()
    member.user.email = "known@sme.example"
    member.user.save()
    queued = []
    from licensing import queue

    monkeypatch.setattr(queue, "enqueue", lambda task_name, *args: queued.append((task_name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset/", {"email": "known@sme.example"}, headers={"accept-language": "en"})
        client.post("/password/reset/", {"email": "nobody@sme.example"}, headers={"accept-language": "en"})
    # The request only queues: the same work for a known and an unknown address, and no email yet.
    assert queued == [
        ("licensing.send_password_reset", ("known@sme.example", "en")),
        ("licensing.send_password_reset", ("nobody@sme.example", "en")),
    ]
    assert mail.outbox == []

    from licensing.tasks import send_password_reset

    send_password_reset("known@sme.example", "en")
    send_password_reset("nobody@sme.example", "en")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["known@sme.example"]
    assert "http://127.0.0.1:8000/password/reset/" in mail.outbox[0].body  # SITE_URL, not the Host header


def test_every_spelling_of_one_address_counts_against_its_one_limit(client, make_member, settings):
    """Issue 21, point 4.4: the throttle keys the address as the account lookup compares it (NFKC,
    case-folded), so the long-s and upper-case spellings share one counter."""
    member = make_member()
    member.user.email = "sam@sme.example"
    member.user.save()
    limit = settings.RATE_LIMITS["password_reset"]["per_email"]
    spellings = ["sam@sme.example", "SAM@sme.example", "ſam@sme.example", "SaM@sme.example", "Sam@SME.example "]
    answers = [
        Client(REMOTE_ADDR=f"192.0.2.{n}").post("/password/reset/", {"email": spelling}).status_code
        for n, spelling in enumerate(spellings, start=10)  # each from another client: only the address counts
    ]
    assert answers == [302] * limit + [429] * (len(spellings) - limit)
