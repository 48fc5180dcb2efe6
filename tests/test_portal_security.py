"""An SME user sees and changes only its own enterprise's objects; forms need CSRF tokens; user
text is escaped; receipts are stored outside the web root; deploy checks pass."""

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from licensing import services
from licensing.models import PaymentReport

from .factories import EnterpriseFactory, OfferFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def theirs(offer, make_license, staff, clock, tmp_path, settings):
    """Another enterprise's purchased license with a reported payment and its receipt."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    clock("2026-01-31")
    lic = make_license(offer, "purchased", enterprise=EnterpriseFactory())  # on 2026-07-31
    clock("2026-08-03")
    report = services.report_payment(
        license_id=lic.pk,
        amount=Decimal("100.00"),
        paid_on=dt.date(2026, 7, 31),
        reference="THEIRS-1",
        receipt=SimpleUploadedFile("r.png", PNG),
        by=staff,
    )
    return lic, report


def portal_urls(lic, report):
    """Every portal URL that names an object, with that object's ids."""
    return [
        f"/licenses/{lic.pk}/",
        f"/licenses/{lic.pk}/buy/",
        f"/licenses/{lic.pk}/return/",
        f"/licenses/{lic.pk}/equity/",
        f"/licenses/{lic.pk}/payments/new/",
        f"/licenses/{lic.pk}/payments/{report.pk}/receipt/",
    ]


def test_every_portal_url_with_another_enterprises_ids_is_404(sme_client, theirs):
    lic, report = theirs
    for url in portal_urls(lic, report):
        assert sme_client.get(url).status_code == 404, url
        assert sme_client.post(url, {"seen_state": lic.state, "plan": "lump_sum", "confirmed": "on"}).status_code == 404
    assert PaymentReport.objects.count() == 1
    lic.refresh_from_db()
    assert lic.state == "purchased"


def test_the_owner_gets_its_receipt_and_it_lies_outside_the_web_root(client, make_member, theirs):
    lic, report = theirs
    owner = make_member(lic.enterprise)
    client.force_login(owner.user)
    response = client.get(f"/licenses/{lic.pk}/payments/{report.pk}/receipt/")

    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    path = report.receipt.path
    assert path.startswith(str(settings.PRIVATE_MEDIA_ROOT)) and not path.startswith(str(settings.STATIC_ROOT))


def test_pages_need_an_approved_member(client, make_member, theirs):
    lic, _report = theirs
    assert client.get("/licenses/").status_code == 302  # to the login page
    pending = make_member(lic.enterprise, state="pending", username="waiting")
    client.force_login(pending.user)
    response = client.get(f"/licenses/{lic.pk}/", headers={"accept-language": "en"})
    assert response.status_code == 403 and b"awaiting approval" in response.content


def test_forms_refuse_a_post_without_csrf_token(make_member, enterprise, offer):
    member = make_member(enterprise)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member.user)
    response = browser.post(f"/patents/{offer.pk}/apply/", {"intended_use": "x", "contact": "y"})

    assert response.status_code == 403
    assert not enterprise.licenses.exists()


def test_user_text_is_escaped(sme_client, institution):
    offer = OfferFactory(patent__owner=institution, patent__title="<script>alert('x')</script>")
    for url in ("/", f"/patents/{offer.pk}/"):
        body = sme_client.get(url).content.decode()
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body and "<script>alert" not in body


def test_deploy_checks_pass_with_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "tto.example.edu.cn",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
