"""Matching: an SME's needs and its consent to pushed offers (each change audited), and the
precomputed terms that rank offers and enterprises (selectors.matching reads them).

The terms are refreshed where the text changes, in the same transaction: an offer's when it is
published or withdrawn (services.offers), its patents' when one is edited (services.records), an
enterprise's when its needs change (here). `rebuild_matching` recomputes every document against
the corpus's average length."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..domain import industries, relevance
from ..domain.clock import now
from ..domain.text import clean_multi_line, clean_single_line
from ..models import (
    AuditEvent,
    Enterprise,
    EnterpriseMember,
    EnterpriseNeeds,
    MatchCorpus,
    NeedsTerm,
    Offer,
    OfferTerm,
    Patent,
    PushConsent,
)
from . import _audit
from ._runner import _refused
from .parties import staff_may_correct_enterprise

if TYPE_CHECKING:
    from django.contrib.auth.models import User

NEEDS_FIELDS = ("products", "problems", "divisions", "keywords")

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


def index_offer(offer_id: int) -> None:
    """A published offer's terms, replacing what was there; any other offer has none."""
    OfferTerm.objects.filter(offer_id=offer_id).delete()
    offer = Offer.objects.filter(pk=offer_id, state=Offer.State.PUBLISHED).first()
    if offer is None:
        return
    weights = relevance.bm25_weights(
        offer_frequencies(offer, offer.patents.all()), _average_length(MatchCorpus.Side.OFFERS)
    )
    OfferTerm.objects.bulk_create(OfferTerm(offer_id=offer_id, term=t, weight=w) for t, w in weights.items())


def index_offers_of_patent(patent_id: int) -> None:
    """After a patent's text or class changed: every published offer it is in."""
    offers = Offer.objects.filter(patent_links__patent_id=patent_id, state=Offer.State.PUBLISHED)
    for offer_id in offers.values_list("pk", flat=True).order_by("pk"):
        index_offer(offer_id)


def index_needs(enterprise_id: int) -> None:
    NeedsTerm.objects.filter(enterprise_id=enterprise_id).delete()
    needs = EnterpriseNeeds.objects.filter(enterprise_id=enterprise_id).first()
    if needs is None or needs.is_empty:
        return
    weights = relevance.bm25_weights(needs_frequencies(needs), _average_length(MatchCorpus.Side.NEEDS))
    NeedsTerm.objects.bulk_create(NeedsTerm(enterprise_id=enterprise_id, term=t, weight=w) for t, w in weights.items())


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
