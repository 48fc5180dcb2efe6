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
from django.urls import reverse

from licensing import services
from licensing.models import PaymentReport

from .factories import EnterpriseFactory, OfferFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def theirs(institution, make_license, make_member, staff, clock, tmp_path, settings):
    """Another enterprise's licenses, one for each kind of page: one purchased (equity allowed) with
    a reported payment and its receipt, and one in trial (for buying and returning)."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    enterprise = EnterpriseFactory()
    clock("2026-01-31")
    equity_offer = OfferFactory(patent__owner=institution, equity_allowed=True, equity_max_share=Decimal("0.5"))
    equity_offer.milestones.create(name="First commercial sale", amount=Decimal("50000.00"), due_days=30)
    lic = make_license(equity_offer, "purchased", enterprise=enterprise)  # on 2026-07-31
    clock("2026-08-03")
    trial = make_license(OfferFactory(patent__owner=institution), "trial", enterprise=enterprise, start="2026-08-03")
    report = services.report_payment(
        license_id=lic.pk,
        amount=Decimal("100.00"),
        paid_on=dt.date(2026, 7, 31),
        reference="THEIRS-1",
        receipt=SimpleUploadedFile("r.png", PNG),
        by=staff,
    )
    royalty = OfferFactory(patent__owner=institution, price=0, royalty_base="net_sales", royalty_rates="3%")
    clock("2026-01-31")
    royalty_lic = make_license(royalty, "purchased", enterprise=enterprise, start="2025-07-01", plan="lump_sum")
    clock("2026-08-03")
    q1 = royalty_lic.royalty_reports.order_by("period_start").first()
    services.file_royalty_report(report_id=q1.pk, base="1000.00", attachment=SimpleUploadedFile("s.png", PNG), by=staff)
    contract = services.issue_contract(license_id=lic.pk, by=staff)
    signer = make_member(enterprise, username="their-signer")
    signed = SimpleUploadedFile("signed.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    services.upload_licensee_copy(contract_id=contract.pk, copy=signed, by=signer.user)
    invoiced, to_invoice = (
        services.record_payment(
            license_id=lic.pk,
            amount=Decimal("10.00"),
            paid_on=dt.date(2026, 8, 3),
            reference=f"P{n}",
            idempotency_key=f"p{n}",
            by=staff,
        )
        for n in (1, 2)
    )
    details = {"buyer_name": enterprise.name, "taxpayer_number": enterprise.uscc, "email": "f@sme.example"}
    invoice = services.request_invoice(payment_id=invoiced.pk, details=details, by=signer.user)
    services.record_invoice(
        request_id=invoice.pk,
        invoice_number="INV-1",
        issued_on=dt.date(2026, 8, 3),
        kind="ordinary",
        vat_rate="6",
        document=SimpleUploadedFile("i.pdf", b"%PDF-1.7 invoice", content_type="application/pdf"),
        by=staff,
    )
    lic.walk_ids = {"payment_id": to_invoice.pk, "request_id": invoice.pk}
    return lic, report, trial, q1


# The portal URLs that name an object, and the license of `theirs` each is walked with (the one
# on which the page exists). A new URL naming an object fails the walk until it is added here.
LICENSE_FOR_PAGE = {
    "license": "purchased",
    "buy": "trial",
    "return": "trial",
    "equity": "purchased",
    "report_payment": "purchased",
    "milestone": "purchased",
    "receipt": "purchased",
    "royalty_report": "royalty",
    "report_attachment": "royalty",
    "contract_document": "purchased",
    "upload_signed_copy": "purchased",
    "signed_copy": "purchased",
    "request_invoice": "purchased",
    "invoice": "purchased",
    "license_feedback": "trial",
}
# URLs with an id that is no enterprise's object: public catalogue pages, secret tokens (tested
# in test_portal_calendar.py and Django's own password reset), and an inventor's statement of a
# year, which is always the logged-in inventor's own (test_inventor_statements.py: 404 to an SME).
NOT_AN_ENTERPRISES_OBJECT = {
    "offer",
    "apply",
    "calendar_ics",
    "password_reset_confirm",
    "inventor_statement",
    "inventor_statement_pdf",
    # a pushed offer's secret links (tests/test_pushes.py)
    "push",
    "decline_push",
    "unsubscribe",
}


def portal_urls(lic, report, trial, royalty_report) -> dict[str, str]:
    """Every portal URL with an object id in it, from the URLconf, filled with `theirs` ids."""
    from django.urls import get_resolver

    urls = {}
    for pattern in get_resolver("licensing.portal.urls").url_patterns:
        converters = pattern.pattern.converters
        if not converters or pattern.name in NOT_AN_ENTERPRISES_OBJECT:
            continue
        assert pattern.name in LICENSE_FOR_PAGE, f"portal URL {pattern.name!r} is not in the security walk"
        target = {"purchased": lic, "trial": trial, "royalty": royalty_report.license}[LICENSE_FOR_PAGE[pattern.name]]
        kwargs = {
            "pk": target.pk,
            "report_id": report.pk,
            "milestone_id": lic.milestones.get().pk,
            "royalty_report_id": royalty_report.pk,
            "version": 1,
            "field": "licensee_copy",
            **lic.walk_ids,
        }
        urls[pattern.name] = reverse(f"portal:{pattern.name}", kwargs={k: kwargs[k] for k in converters})
    assert set(urls) == set(LICENSE_FOR_PAGE)
    return urls


def test_every_portal_url_with_another_enterprises_ids_is_404(sme_client, theirs):
    lic, _report, trial, q1 = theirs
    for name, url in portal_urls(*theirs).items():
        assert sme_client.get(url).status_code == 404, url
        seen = "trial" if name in ("buy", "return") else lic.state
        post = {
            "seen_state": seen,
            "plan": "lump_sum",
            "confirmed": "on",
            "share": "0.1",
            "valuation": "100000",
            "base_amount": "5",
        }
        assert sme_client.post(url, post).status_code == 404, url
    assert PaymentReport.objects.count() == 1
    lic.refresh_from_db()
    trial.refresh_from_db()
    assert (lic.state, trial.state) == ("purchased", "trial") and not lic.equity_conversions.exists()
    q1.refresh_from_db()
    assert q1.base_amount == Decimal("1000.00")


def test_the_owner_opens_every_url_the_walk_refuses_to_others(client, make_member, theirs):
    """The positive control: the same URLs answer 200 to the enterprise they belong to, so each
    404 above is the scoping at work, not a page that does not exist."""
    owner = make_member(theirs[0].enterprise)
    client.force_login(owner.user)
    for url in portal_urls(*theirs).values():
        assert client.get(url).status_code == 200, url


def test_the_owner_gets_its_receipt_and_it_lies_outside_the_web_root(client, make_member, theirs):
    lic, report, _trial, _q1 = theirs
    owner = make_member(lic.enterprise)
    client.force_login(owner.user)
    response = client.get(f"/licenses/{lic.pk}/payments/{report.pk}/receipt/")

    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    path = report.receipt.path
    assert path.startswith(str(settings.PRIVATE_MEDIA_ROOT)) and not path.startswith(str(settings.STATIC_ROOT))


def test_pages_need_an_approved_member(client, make_member, theirs):
    lic, _report, _trial, _q1 = theirs
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
