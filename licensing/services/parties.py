"""Enterprises and their portal members: sign-up, master data kept by the enterprise, approval,
password resets, the calendar address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from .. import queue
from ..domain.clock import now
from ..domain.text import REASON_MAX_LENGTH, clean_multi_line, clean_single_line
from ..models import (
    AuditEvent,
    Enterprise,
    EnterpriseMember,
    Institution,
    Reminder,
    new_token,
)
from . import _audit
from ._runner import (
    _notify_once,
    _refused,
    _require_reason,
    _run,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def sign_up_member(
    *,
    user_fields: dict,
    enterprise: Enterprise,
    full_name: str,
    phone: str = "",
    institution: Institution | None = None,
    privacy_notice_version: str,
) -> EnterpriseMember:
    """A new portal user for an enterprise (created if its USCC is new). The membership waits for
    TTO staff to approve it: nobody sees an enterprise's licenses on their word alone. They are
    told by email: the institution whose offer the user came from (`institution`), or else the
    platform's administrator.

    Two identical sign-ups at once make one account: the second finds the username taken (the
    unique index decides, inside a savepoint) and is told so; two sign-ups for one new USCC make
    one enterprise, which both join."""
    if privacy_notice_version != settings.PRIVACY_NOTICE_VERSION:  # no account without the consent
        raise ValidationError(
            {
                "privacy_consent": _("Read and agree to the privacy notice (version %(version)s) to sign up.")
                % {"version": settings.PRIVACY_NOTICE_VERSION}
            }
        )
    full_name = clean_single_line(full_name, "full_name", max_length=100, required=True)
    phone = clean_single_line(phone, "phone", max_length=30)
    created = False
    if enterprise.pk is None:
        if not enterprise.industry_section:  # the national classification, for the regulators' figures
            raise ValidationError({"industry_section": _("Choose what the enterprise does (a GB/T 4754 section).")})
        enterprise.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                enterprise.save()
                created = True
        except IntegrityError:  # registered meanwhile, or before: join it
            enterprise = Enterprise.objects.get(uscc=enterprise.uscc)
    fields = dict(user_fields)
    password = fields.pop("password")
    user = get_user_model()(**fields)
    user.first_name = full_name  # a Chinese name is one string: the trail and the admin name the person by it
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"username": _("An account with this username exists already. Log in, or choose another username.")}
        ) from exc
    member = EnterpriseMember.objects.create(
        user=user,
        enterprise=enterprise,
        full_name=full_name,
        phone=phone,
        privacy_notice_version=privacy_notice_version,
        privacy_consented_at=now(),
    )
    if created:
        _audit.created(enterprise, by=user, fields=ENTERPRISE_MASTER_DATA)
    signed_up = _audit.created(member, by=user, fields=("full_name", "privacy_notice_version"))
    _notify_once(Reminder.Kind.MEMBER_TO_APPROVE, member, event=signed_up, institution=institution)
    return member


# An enterprise's master data: what it says about itself, and what its size class comes from.
ENTERPRISE_MASTER_DATA = (
    "name",
    "industry_section",
    "industry",
    "employees",
    "annual_revenue",
    "high_tech",
    "contact_email",
    "language",
    "address",
    "legal_representative",
)


@transaction.atomic
def register_enterprise(*, enterprise: Enterprise, by: User | None) -> Enterprise:
    """An enterprise entered by TTO staff (e.g. from a paper application), with its audit event."""
    enterprise.full_clean()
    enterprise.save()
    _audit.created(enterprise, by=by, fields=ENTERPRISE_MASTER_DATA)
    return enterprise


def staff_may_correct_enterprise(enterprise: Enterprise, user: User) -> bool:
    """The enterprise keeps its own master data, through its active members in the portal. Staff
    may correct it only while the enterprise has no active member and deals with no institution
    but theirs (every license it has is with their institution); a superuser always may."""
    if user.is_superuser:
        return True
    institution = _institution_of(user)
    if institution is None:
        return False
    if enterprise.members.filter(state=EnterpriseMember.State.ACTIVE).exists():
        return False
    return not enterprise.licenses.exclude(institution=institution).exists()


@transaction.atomic
def update_enterprise(*, enterprise_id: int, by: User | None, changes: dict, reason: str = "") -> Enterprise:
    """Change an enterprise's master data, by an active member of it or by staff allowed to
    correct it (`staff_may_correct_enterprise`); every change is an audit event, from -> to."""
    enterprise = Enterprise.objects.select_for_update().get(pk=enterprise_id)
    member = getattr(by, "enterprise_member", None)
    is_own_member = (
        member is not None and member.enterprise_id == enterprise.pk and member.state == EnterpriseMember.State.ACTIVE
    )
    if not is_own_member and not (by is not None and by.is_staff and staff_may_correct_enterprise(enterprise, by)):
        raise _refused(
            _(
                "This enterprise keeps its details itself, in the portal: it has active members or deals with "
                "other institutions too."
            )
        )
    reason = clean_multi_line(reason, "reason", max_length=REASON_MAX_LENGTH)
    unknown = set(changes) - set(ENTERPRISE_MASTER_DATA)
    if unknown:
        raise ValidationError(_("These details cannot be changed here: %(fields)s") % {"fields": ", ".join(unknown)})
    before = _audit.snapshot(enterprise)
    for name, value in changes.items():
        setattr(enterprise, name, value)
    enterprise.full_clean(exclude=["uscc"])
    if not _audit.diff(before, enterprise):
        return enterprise
    enterprise.save()  # which also moves the size class, when the figures say so
    _audit.changed(enterprise, before, by=by, reason=reason)
    return enterprise


def member_decision_allowed(member: EnterpriseMember, user: User) -> bool:
    """Who may approve or revoke a portal member: a superuser; or staff of an institution when
    every license of the member's enterprise is with that institution (an enterprise that deals
    with several institutions, whose members would see all their contracts, is for a superuser)."""
    if user.is_superuser:
        return True
    institution = _institution_of(user)
    if institution is None:
        return False
    return not member.enterprise.licenses.exclude(institution=institution).exists()


def _check_member_decision(member: EnterpriseMember, by: User | None) -> None:
    if by is not None and not member_decision_allowed(member, by):
        raise _refused(
            _("This enterprise also deals with other institutions: a platform administrator decides on its members.")
        )


def request_password_reset(*, email: str, language: str) -> None:
    """Queue the reset email; the worker looks the address up and sends it, so the request takes
    the same time whether or not an account exists."""

    transaction.on_commit(lambda: queue.enqueue("licensing.send_password_reset", email, language))


def send_password_reset(*, email: str, language: str) -> None:
    """Email a reset link to every active account with this address (none: nothing is sent)."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm

    site = urlsplit(settings.SITE_URL)
    form = PasswordResetForm(data={"email": email})
    if not form.is_valid():
        return
    with translation.override(language):
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            subject_template_name="portal/emails/password_reset.subject.txt",
            email_template_name="portal/emails/password_reset.txt",
            html_email_template_name="portal/emails/password_reset.html",
        )


def _lock_member(member_id: int) -> EnterpriseMember:
    return EnterpriseMember.objects.select_for_update().get(pk=member_id)


@transaction.atomic
def approve_member(*, member_id: int, by: User | None, reason: str = "") -> EnterpriseMember:
    member = _lock_member(member_id)
    _check_member_decision(member, by)
    approved = _run(member, "approve", by=by, reason=reason)
    _notify_once(Reminder.Kind.MEMBER_APPROVED, member, event=approved, institution=_institution_of(by))
    return member


@transaction.atomic
def revoke_member(*, member_id: int, by: User | None, reason: str) -> EnterpriseMember:
    member = _lock_member(member_id)
    _check_member_decision(member, by)
    revoked = _run(member, "revoke", by=by, reason=_require_reason(reason))
    _notify_once(Reminder.Kind.MEMBER_REVOKED, member, event=revoked, institution=_institution_of(by))
    return member


def _institution_of(user: User | None) -> Institution | None:
    """The institution a decision is sent in the name of: the deciding staff member's."""
    return getattr(getattr(user, "staff_profile", None), "institution", None)


@transaction.atomic
def renew_calendar_token(*, member: EnterpriseMember) -> EnterpriseMember:
    """A new private calendar address; the old one stops working at once. The event says that it
    changed, never the address itself."""
    member.calendar_token = new_token()
    member.save(update_fields=["calendar_token"])
    _audit.record(
        AuditEvent.Action.CHANGED, member, by=member.user, changes={"calendar_token": [_audit.HIDDEN, _audit.HIDDEN]}
    )
    return member
