"""Matching: an SME's needs and its consent to pushed offers (each change audited), and the
precomputed terms that rank offers and enterprises (selectors.matching reads them).

The terms are refreshed where the text changes, in the same transaction: an offer's when it is
published or withdrawn (services.offers), its patents' when one is edited (services.records), an
enterprise's when its needs change (here). `rebuild_matching` recomputes every document against
the corpus's average length."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import queue
from ..domain import industries, relevance
from ..domain.clock import now, today
from ..domain.text import clean_multi_line, clean_single_line
from ..models import (
    AuditEvent,
    Enterprise,
    EnterpriseMember,
    EnterpriseNeeds,
    Feedback,
    Institution,
    License,
    MatchCorpus,
    MatchTermStat,
    NeedsTerm,
    Offer,
    OfferTerm,
    Patent,
    Push,
    PushCampaign,
    PushConsent,
    Reminder,
    SystemReason,
)
from . import _audit
from ._runner import _refused
from .parties import staff_may_correct_enterprise

if TYPE_CHECKING:
    from django.contrib.auth.models import User

NEEDS_FIELDS = ("products", "problems", "divisions", "keywords")
MAX_PUSH_AUDIENCE = 10_000  # enterprises in one push
UNSUBSCRIBE_SALT = "licensing.push-unsubscribe"

# How much each field's words count: a title or a keyword says more about fit than an abstract.
TITLE, KEYWORD, TEXT = 3.0, 3.0, 1.0


# -- documents -------------------------------------------------------------------------------------


def offer_frequencies(offer: Offer, patents: Iterable[Patent]) -> dict[str, float]:
    """The offer's terms: its name, its patents' titles, keywords, claims and abstracts; and its
    patents' IPC classes, each weighing 1/n so that the classes together weigh 1."""
    patents = list(patents)
    fields: list[tuple[list[str], float]] = [(relevance.terms(offer.name), TITLE)]
    for patent in patents:
        fields += [
            (relevance.terms(patent.title), TITLE),
            (relevance.keyword_terms(patent.keywords), KEYWORD),
            (relevance.terms(patent.claims_gist), TEXT),
            (relevance.terms(patent.abstract), TEXT),
        ]
    frequencies = relevance.weighted(fields)
    classes = sorted({c for c in (industries.ipc_class_of(p.ipc_class) for p in patents) if c})
    for ipc_class in classes:
        frequencies[relevance.class_term(ipc_class)] = 1 / len(classes)
    return frequencies


def needs_frequencies(needs: EnterpriseNeeds) -> dict[str, float]:
    """The enterprise's terms: its products, problems and keywords; and the IPC classes its
    industries lead to (industries.IPC_CLASS_DIVISIONS), each weighing 1."""
    frequencies = relevance.weighted(
        [
            (relevance.terms(needs.products), 2 * TEXT),
            (relevance.terms(needs.problems), 2 * TEXT),
            (relevance.keyword_terms(needs.keywords), KEYWORD),
        ]
    )
    for ipc_class in industries.classes_for_divisions(needs.division_list):
        frequencies[relevance.class_term(ipc_class)] = 1.0
    return frequencies


def _average_length(side: str) -> float | None:
    corpus = MatchCorpus.objects.filter(side=side).first()
    return corpus.average_length if corpus is not None and corpus.documents else None


def _count_documents(side: str, terms: list[str], delta: int) -> None:
    """Add `delta` to the document frequency of each term. The rows are locked in term order, so
    two documents indexed at once wait for each other instead of deadlocking."""
    if not terms:
        return
    MatchTermStat.objects.bulk_create(
        [MatchTermStat(side=side, term=term, documents=0) for term in terms], ignore_conflicts=True
    )
    rows = MatchTermStat.objects.filter(side=side, term__in=terms)
    list(rows.select_for_update().order_by("term").values_list("pk", flat=True))
    rows.update(documents=F("documents") + delta)


def _replace_terms(side: str, model: Any, key: str, pk: int, weights: dict[str, float]) -> None:
    """A document's terms replace its old ones, and the terms' document frequencies follow."""
    rows = model.objects.filter(**{key: pk})
    old = set(rows.values_list("term", flat=True))
    rows.delete()
    model.objects.bulk_create(model(**{key: pk}, term=term, weight=weight) for term, weight in weights.items())
    _count_documents(side, sorted(set(weights) - old), +1)
    _count_documents(side, sorted(old - set(weights)), -1)


def index_offer(offer_id: int) -> None:
    """A published offer's terms, replacing what was there; any other offer has none."""
    offer = Offer.objects.filter(pk=offer_id, state=Offer.State.PUBLISHED).first()
    weights = (
        relevance.bm25_weights(offer_frequencies(offer, offer.patents.all()), _average_length(MatchCorpus.Side.OFFERS))
        if offer is not None
        else {}
    )
    _replace_terms(MatchCorpus.Side.OFFERS, OfferTerm, "offer_id", offer_id, weights)


def index_offers_of_patent(patent_id: int) -> None:
    """After a patent's text or class changed: every published offer it is in."""
    offers = Offer.objects.filter(patent_links__patent_id=patent_id, state=Offer.State.PUBLISHED)
    for offer_id in offers.values_list("pk", flat=True).order_by("pk"):
        index_offer(offer_id)


def index_needs(enterprise_id: int) -> None:
    """An enterprise's needs' terms, replacing what was there (none for empty needs)."""
    needs = EnterpriseNeeds.objects.filter(enterprise_id=enterprise_id).first()
    weights = (
        relevance.bm25_weights(needs_frequencies(needs), _average_length(MatchCorpus.Side.NEEDS))
        if needs is not None and not needs.is_empty
        else {}
    )
    _replace_terms(MatchCorpus.Side.NEEDS, NeedsTerm, "enterprise_id", enterprise_id, weights)


@transaction.atomic
def rebuild_matching(*, batch: int = 2000) -> dict[str, int]:
    """Every published offer's and every enterprise's terms, weighed against the corpus's
    average length (measured first): after a bulk load, or to correct the drift of one-by-one
    indexing. Returns the documents indexed per side."""
    offers = Offer.objects.filter(state=Offer.State.PUBLISHED).prefetch_related("patents").order_by("pk")
    offer_docs = [(o.pk, offer_frequencies(o, o.patents.all())) for o in offers.iterator(chunk_size=batch)]
    needs_docs = [
        (n.enterprise_id, needs_frequencies(n))
        for n in EnterpriseNeeds.objects.order_by("pk").iterator(chunk_size=batch)
        if not n.is_empty
    ]
    OfferTerm.objects.all().delete()
    NeedsTerm.objects.all().delete()
    MatchTermStat.objects.all().delete()
    for side, docs, model, key in (
        (MatchCorpus.Side.OFFERS, offer_docs, OfferTerm, "offer_id"),
        (MatchCorpus.Side.NEEDS, needs_docs, NeedsTerm, "enterprise_id"),
    ):
        average = sum(relevance.length(f) for _, f in docs) / len(docs) if docs else 0.0
        MatchCorpus.objects.update_or_create(
            side=side, defaults={"average_length": average, "documents": len(docs), "rebuilt_at": now()}
        )
        rows: Iterable[Any] = (
            model(**{key: pk}, term=term, weight=weight)
            for pk, frequencies in docs
            for term, weight in relevance.bm25_weights(frequencies, average or None).items()
        )
        model.objects.bulk_create(rows, batch_size=5000)
        frequencies = model.objects.values("term").annotate(n=Count("pk")).values_list("term", "n")
        MatchTermStat.objects.bulk_create(
            (MatchTermStat(side=side, term=term, documents=n) for term, n in frequencies.iterator()), batch_size=5000
        )
    return {"offers": len(offer_docs), "needs": len(needs_docs)}


# -- what an SME needs -------------------------------------------------------------------------------


def _may_keep_needs(enterprise: Enterprise, by: User | None) -> bool:
    """Like the enterprise's master data: its active members, or staff allowed to correct it."""
    member = getattr(by, "enterprise_member", None)
    if member is not None and member.enterprise_id == enterprise.pk and member.state == EnterpriseMember.State.ACTIVE:
        return True
    return by is not None and by.is_staff and staff_may_correct_enterprise(enterprise, by)


@transaction.atomic
def update_needs(*, enterprise_id: int, by: User | None, changes: dict, reason: str = "") -> EnterpriseNeeds:
    """What the enterprise makes and needs, and its industries: saved with an audit event (from ->
    to) and its terms re-indexed, so its recommendations follow at once."""
    enterprise = Enterprise.objects.select_for_update().get(pk=enterprise_id)
    if not _may_keep_needs(enterprise, by):
        raise _refused(_("Only the enterprise's own members describe what it needs."))
    unknown = set(changes) - set(NEEDS_FIELDS)
    if unknown:
        raise ValidationError(_("These details cannot be changed here: %(fields)s") % {"fields": ", ".join(unknown)})
    reason = clean_multi_line(reason, "reason", max_length=500)
    needs, created = EnterpriseNeeds.objects.get_or_create(enterprise=enterprise)
    before = _audit.snapshot(needs, NEEDS_FIELDS)
    cleaned = dict(changes)
    for name in ("products", "problems"):
        if name in cleaned:
            cleaned[name] = clean_multi_line(cleaned[name] or "", name, max_length=2000)
    if "keywords" in cleaned:
        cleaned["keywords"] = clean_single_line(cleaned["keywords"] or "", "keywords", max_length=300)
    if "divisions" in cleaned:
        codes = cleaned["divisions"]
        codes = codes.split(",") if isinstance(codes, str) else list(codes)
        cleaned["divisions"] = ",".join(sorted({c.strip() for c in codes if c.strip()}))
    for name, value in cleaned.items():
        setattr(needs, name, value)
    needs.full_clean(exclude=["enterprise"])
    if not _audit.diff(before, needs):
        return needs
    needs.updated_at = now()
    needs.save()
    _audit.record(
        AuditEvent.Action.CREATED if created else AuditEvent.Action.CHANGED,
        needs,
        by=by,
        changes=_audit.diff(before, needs),
        reason=reason,
    )
    index_needs(enterprise.pk)
    return needs


@transaction.atomic
def set_push_consent(
    *,
    enterprise_id: int,
    by: User | None,
    given: bool,
    channel: str = PushConsent.Channel.PORTAL,
) -> PushConsent | None:
    """Opt in to offers pushed by email, or out: a consent record (which notice, when, how) and
    an audit event. Opting out needs no account (an email's unsubscribe link: `by` is None and
    the channel says so); opting in is a member's act in the portal. Nothing is written when the
    answer stands already."""
    enterprise = Enterprise.objects.select_for_update().get(pk=enterprise_id)
    if given and not _may_keep_needs(enterprise, by):
        raise _refused(_("Only the enterprise's own members can ask for offers to be pushed."))
    if not given and by is not None and channel == PushConsent.Channel.PORTAL and not _may_keep_needs(enterprise, by):
        raise _refused(_("Only the enterprise's own members can change this."))
    needs, _created = EnterpriseNeeds.objects.get_or_create(enterprise=enterprise)
    if bool(needs.push_consented_at) == given:
        return None
    before = _audit.snapshot(needs, ["push_consented_at"])
    moment = now()
    needs.push_consented_at = moment if given else None
    needs.save(update_fields=["push_consented_at"])
    consent = PushConsent.objects.create(
        enterprise=enterprise,
        by=by if getattr(by, "pk", None) else None,
        given=given,
        notice_version=settings.PUSH_NOTICE_VERSION if given else "",
        channel=channel,
        at=moment,
    )
    _audit.changed(needs, before, by=by)
    return consent


# -- pushes -----------------------------------------------------------------------------------------


def _institution_for(by: User | None, offers: list[Offer]) -> Institution:
    """The institution pushing: the staff member's; a superuser pushes one institution's offers."""
    owners = {offer.patent.owner for offer in offers}
    profile = getattr(by, "staff_profile", None)
    if by is None or not by.is_staff:
        raise _refused(_("Only TTO staff push offers."))
    if len(owners) != 1 or (not by.is_superuser and (profile is None or owners != {profile.institution})):
        raise _refused(_("Push your own institution's published offers, one institution's at a time."))
    return owners.pop()


def _month_start(moment: datetime) -> datetime:
    """The start of the business month (Asia/Shanghai) that `moment` falls in."""
    local = timezone.localtime(moment)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def push_offers(
    *,
    offer_ids: list[int],
    enterprise_ids: list[int],
    name: str,
    by: User | None,
    shared_words: dict[int, str] | None = None,
) -> PushCampaign:
    """A campaign: each offer to each enterprise that asked for fitting offers, once, through the
    ledger (in the enterprise's language, with a link that stops them without logging in); never
    to an enterprise that holds or applied for the offer; at most PUSHES_PER_MONTH an enterprise
    in a business month (enterprises in the order given: the best fitting first). The campaign's
    audit event says how many went out and how many were held back, and why."""
    name = clean_single_line(name, "name", max_length=200, required=True)
    offers = list(
        Offer.objects.select_related("patent__owner")
        .filter(pk__in=offer_ids, state=Offer.State.PUBLISHED)
        .order_by("pk")
    )
    if not offers or len(offers) != len(set(offer_ids)):
        raise _refused(_("Push published offers only."))
    institution = _institution_for(by, offers)
    words = {(offer.pk, pk): text for offer in offers for pk, text in (shared_words or {}).items()}
    return _push_campaign(institution, name, by, [(offer, enterprise_ids) for offer in offers], words)


def _push_campaign(
    institution: Institution,
    name: str,
    by: User | None,
    audiences: list[tuple[Offer, list[int]]],
    shared_words: dict[tuple[int, int], str],
) -> PushCampaign:
    """The campaign itself: each offer to its audience (best fitting first), under the rules of
    push_offers."""
    from ..selectors.matching import holders_of  # the one rule of who is left out

    moment = now()
    asked = {pk for _offer, ids in audiences for pk in ids}
    consenting = set(
        EnterpriseNeeds.objects.filter(enterprise_id__in=asked, push_consented_at__isnull=False).values_list(
            "enterprise_id", flat=True
        )
    )
    used = dict(
        Push.objects.filter(enterprise_id__in=consenting, created_at__gte=_month_start(moment))
        .values("enterprise_id")
        .annotate(n=Count("pk"))
        .values_list("enterprise_id", "n")
    )
    campaign = PushCampaign.objects.create(institution=institution, name=name, created_by=by, created_at=moment)
    pushes, at_limit, holding = [], 0, 0
    pushed_before = 0
    for offer, audience in audiences:
        held = set(holders_of(offer).values_list("enterprise_id", flat=True))
        reached = set(
            Push.objects.filter(offer=offer, enterprise_id__in=audience).values_list("enterprise_id", flat=True)
        )
        for enterprise_id in [pk for pk in dict.fromkeys(audience) if pk in consenting]:
            if enterprise_id in reached:  # an offer reaches an enterprise once, whatever the campaign
                pushed_before += 1
            elif enterprise_id in held:
                holding += 1
            elif used.get(enterprise_id, 0) >= settings.PUSHES_PER_MONTH:
                at_limit += 1
            else:
                used[enterprise_id] = used.get(enterprise_id, 0) + 1
                words = shared_words.get((offer.pk, enterprise_id), "")[:300]
                pushes.append(
                    Push(
                        campaign=campaign,
                        enterprise_id=enterprise_id,
                        offer=offer,
                        shared_words=words,
                        created_at=moment,
                    )
                )
    Push.objects.bulk_create(pushes, batch_size=2000)
    pushes = list(campaign.pushes.order_by("pk"))  # with their ids, on every database
    push_type = ContentType.objects.get_for_model(Push)
    Reminder.objects.bulk_create(
        (
            Reminder(
                key=Reminder.key_for(Reminder.Kind.OFFER_PUSHED, "push", push.pk, 0),
                kind=Reminder.Kind.OFFER_PUSHED,
                institution=institution,
                subject_type=push_type,
                subject_id=push.pk,
                offset_days=0,
                deadline=today(),
                created_at=moment,
                next_attempt_at=moment,
            )
            for push in pushes
        ),
        batch_size=2000,
    )
    counts: dict[str, list[Any]] = {
        "offers": [None, [offer.pk for offer, _audience in audiences]],
        "pushes": [None, len(pushes)],
        "held_back_monthly_limit": [None, at_limit],
        "left_out_holding_or_applied": [None, holding],
        "left_out_pushed_before": [None, pushed_before],
        "left_out_not_asking": [None, len(asked - consenting)],
    }
    told = SystemReason(
        gettext_noop(
            "%(pushes)s pushed; %(limit)s held back by the monthly limit; left out: %(holding)s that hold or "
            "applied for the offer, %(before)s it was pushed to before, %(silent)s that did not ask for offers."
        ),
        {
            "pushes": len(pushes),
            "limit": at_limit,
            "holding": holding,
            "before": pushed_before,
            "silent": counts["left_out_not_asking"][1],
        },
    )
    _audit.record(AuditEvent.Action.CREATED, campaign, by=by, changes=counts, reason=told)
    transaction.on_commit(lambda: queue.enqueue("licensing.deliver_campaign", campaign.pk))
    campaign.counts = {name: change[1] for name, change in counts.items()}  # type: ignore[attr-defined]
    return campaign


def push_to_fitting(
    *, offer_id: int, count: int, name: str, by: User | None, enterprise_ids: list[int] | None = None
) -> PushCampaign:
    """Push one offer to the enterprises the officer ticked among its fitting ones, or else to the
    `count` it fits best (selectors.fitting_enterprises)."""
    from ..selectors.matching import fitting_enterprises

    if enterprise_ids:
        count = len(enterprise_ids)
    if not 1 <= count <= MAX_PUSH_AUDIENCE:
        raise ValidationError({"count": _("Between 1 and %(max)s enterprises.") % {"max": MAX_PUSH_AUDIENCE}})
    offer = Offer.objects.get(pk=offer_id)
    matches = fitting_enterprises(offer, limit=max(count, 20) if enterprise_ids else count)
    if enterprise_ids:  # the ticked ones, among those the offer fits (nobody else is pushed to)
        matches = [match for match in matches if match.item.pk in set(enterprise_ids)]
    return push_offers(
        offer_ids=[offer_id],
        enterprise_ids=[match.item.pk for match in matches],
        name=name,
        by=by,
        shared_words={match.item.pk: "、".join(match.terms) for match in matches},
    )


def record_push_click(token: str) -> Push | None:
    """The first time a push's link is opened (a measurement on the push, not a change of the
    book: no audit event). None for an unknown token."""
    push = Push.objects.filter(token=token).first()
    if push is not None and push.clicked_at is None:
        Push.objects.filter(pk=push.pk, clicked_at__isnull=True).update(clicked_at=now())
    return push


def attribute_push(*, token: str, license: License) -> bool:
    """An application that came from a push's link counts for that push (its campaign's funnel):
    the same enterprise and offer, and the push not yet counted for another."""
    return bool(
        Push.objects.filter(
            token=token, enterprise_id=license.enterprise_id, offer_id=license.offer_id, license__isnull=True
        ).update(license=license)
    )


def unsubscribe_token(enterprise_id: int) -> str:
    """The signed token of an enterprise's unsubscribe link: it needs no login, and it only ever
    stops pushes (it cannot start them)."""
    return signing.dumps(enterprise_id, salt=UNSUBSCRIBE_SALT)


def unsubscribed_enterprise(token: str) -> Enterprise | None:
    """The enterprise an unsubscribe token names; None for a token that is not ours."""
    try:
        enterprise_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return Enterprise.objects.filter(pk=enterprise_id).first()


def unsubscribe(token: str) -> Enterprise | None:
    """Stop pushes to the enterprise the token names; None for a token that is not ours."""
    enterprise = unsubscribed_enterprise(token)
    if enterprise is not None:
        set_push_consent(
            enterprise_id=enterprise.pk, by=None, given=False, channel=PushConsent.Channel.UNSUBSCRIBE_LINK
        )
    return enterprise


# -- feedback ---------------------------------------------------------------------------------------

FEEDBACK_STATES = (License.State.RETURNED, License.State.EXPIRED)  # a trial that ended without a purchase


@transaction.atomic
def record_feedback(
    *, reason: str, note: str = "", by: User | None, license_id: int | None = None, push_token: str = ""
) -> Feedback:
    """Why an enterprise did not take an offer: on its trial that ended without a purchase (its
    own members), or on a push it declines (whoever holds the email's link). One answer each;
    answering again replaces it, and both are audit events."""
    if reason not in Feedback.Reason.values:
        raise ValidationError({"reason": _("Choose the main reason.")})
    note = clean_multi_line(note, "note", max_length=1000)
    if license_id is not None:
        lic = License.objects.select_related("offer").get(pk=license_id)
        member = getattr(by, "enterprise_member", None)
        if member is None or member.enterprise_id != lic.enterprise_id or member.state != EnterpriseMember.State.ACTIVE:
            raise _refused(_("Only the enterprise's own members answer for its trials."))
        if lic.state not in FEEDBACK_STATES:
            raise _refused(_("This is asked when a trial ends without a purchase."))
        target = {"license": lic}
        enterprise_id, offer_id = lic.enterprise_id, lic.offer_id
    else:
        push = Push.objects.filter(token=push_token[:64]).first() if push_token else None
        if push is None:
            raise _refused(_("This link is not valid."))
        target = {"push": push}
        enterprise_id, offer_id = push.enterprise_id, push.offer_id
    feedback = Feedback.objects.select_for_update().filter(**target).first()
    created = feedback is None
    if feedback is None:
        feedback = Feedback(enterprise_id=enterprise_id, offer_id=offer_id, **target)
    before = _audit.snapshot(feedback, ["reason", "note"]) if not created else {"reason": "", "note": ""}
    feedback.reason, feedback.note, feedback.at = reason, note, now()
    feedback.by = by if getattr(by, "pk", None) else None
    feedback.full_clean()
    feedback.save()
    changes = _audit.diff(before, feedback)
    _audit.record(AuditEvent.Action.CREATED if created else AuditEvent.Action.CHANGED, feedback, by=by, changes=changes)
    return feedback


DIGEST_AUDIENCE = 50  # the best fitting enterprises a new offer goes to in the monthly digest


@transaction.atomic
def push_monthly_digest(*, institution_id: int, on: date) -> PushCampaign | None:
    """The monthly digest of an institution that asked for it: each offer it published in the
    month before `on` (still published) to the DIGEST_AUDIENCE enterprises it fits best, as one
    campaign named for that month. Once a month: run again, it finds the campaign and does
    nothing (None); None too when there is nothing new."""
    from ..selectors.matching import fitting_enterprises

    institution = Institution.objects.select_for_update().get(pk=institution_id)
    if not institution.monthly_digest:
        return None
    first = on.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    with translation.override(institution.language):
        name = _("Monthly digest %(month)s") % {"month": previous.strftime("%Y-%m")}
    if PushCampaign.objects.filter(institution=institution, name=name).exists():
        return None
    offers = list(
        Offer.objects.filter(
            patent__owner=institution,
            state=Offer.State.PUBLISHED,
            created_at__date__gte=previous,
            created_at__date__lt=first,
        ).order_by("pk")
    )
    audiences, words = [], {}
    for offer in offers:
        matches = fitting_enterprises(offer, limit=DIGEST_AUDIENCE)
        audiences.append((offer, [m.item.pk for m in matches]))
        words.update({(offer.pk, m.item.pk): "、".join(m.terms) for m in matches})
    if not any(audience for _offer, audience in audiences):
        return None
    return _push_campaign(institution, name, None, audiences, words)
