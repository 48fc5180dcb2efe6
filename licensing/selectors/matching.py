"""Matching reads: the offers that fit an enterprise's needs, and the enterprises whose needs an
offer fits, each with why. Both rank by BM25 over the precomputed terms (services.matching keeps
them) plus the industry link of shared IPC classes, in SQL: one aggregate over the query's terms'
postings, whatever the size of the book. Constants and formulas: domain.relevance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Exists, F, FloatField, OuterRef, Q, Sum, Value, When
from django.utils import translation
from django.utils.translation import gettext as _

from ..domain import industries, relevance
from ..models import (
    Enterprise,
    EnterpriseNeeds,
    Feedback,
    License,
    MatchCorpus,
    MatchTermStat,
    NeedsTerm,
    Offer,
    OfferTerm,
    Push,
    PushCampaign,
    Reminder,
)

# Terms of the query that count (the most telling ones), and candidates read before the fit filters.
QUERY_TERMS = 24
CANDIDATES = 100
# A term held by more than this share of the documents (and more than COMMON_FLOOR of them) is
# left out of the query: it tells documents apart little (idf below ln 10) and its postings would
# be most of what the ranking reads.
COMMON_SHARE = 0.1
COMMON_FLOOR = 1000
SMALL_FIRMS = (Enterprise.SizeClass.MICRO, Enterprise.SizeClass.SMALL)


@dataclass
class Match:
    """One ranked result and why: the shared words (most telling first), the industry links
    ('G06 → 39 Computers, …'), and what else makes it fit."""

    item: Any  # an Offer or an Enterprise
    score: float
    terms: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    fit: list[str] = field(default_factory=list)


def _multipliers(query: dict[str, float], side: str, documents: int) -> dict[str, float]:
    """Each query term's factor: its weight in the query times its rarity among the documents
    (idf, from the kept document frequencies), or times AFFINITY for an IPC class. The
    QUERY_TERMS most telling text terms count; terms no document has, or too common, do not."""
    text = [t for t in query if not relevance.is_class_term(t)]
    held = MatchTermStat.objects.filter(side=side, term__in=text, documents__gt=0)
    rare = [
        (t, n) for t, n in held.values_list("term", "documents") if n <= max(COMMON_SHARE * documents, COMMON_FLOOR)
    ]
    telling = sorted(((query[t] * relevance.idf(documents, n), t) for t, n in rare), key=lambda f: (-f[0], f[1]))
    factors = {t: factor for factor, t in telling[:QUERY_TERMS]}
    factors.update({t: w * relevance.AFFINITY for t, w in query.items() if relevance.is_class_term(t)})
    return factors


def _ranked(postings: Any, key: str, factors: dict[str, float], limit: int) -> list[tuple[int, float]]:
    """The documents with the highest sum of weight × factor over the query's terms, best first
    (ties by id, so the order is the same on every database)."""
    if not factors:
        return []
    factor = Case(*(When(term=t, then=Value(f)) for t, f in factors.items()), output_field=FloatField())
    rows = (
        postings.filter(term__in=list(factors))
        .values(key)
        .annotate(score=Sum(F("weight") * factor, output_field=FloatField()))
        .order_by("-score", key)
        .values_list(key, "score")[:limit]
    )
    return list(rows)


def _reasons(postings: Any, key: str, ids: list[int], factors: dict[str, float]) -> dict[int, list[tuple[float, str]]]:
    """Per document, the query terms it has, with what each added to its score, most first."""
    found: dict[int, list[tuple[float, str]]] = {}
    for pk, term, weight in postings.filter(**{f"{key}__in": ids}, term__in=list(factors)).values_list(
        key, "term", "weight"
    ):
        found.setdefault(pk, []).append((weight * factors[term], term))
    for contributions in found.values():
        contributions.sort(key=lambda c: (-c[0], c[1]))
    return found


def _explain(match: Match, contributions: list[tuple[float, str]], divisions: list[str]) -> None:
    language = translation.get_language() or "zh-hans"
    for _weight, term in contributions:
        if relevance.is_class_term(term):
            ipc_class = term[len(relevance.CLASS_PREFIX) :]
            linked = [d for d in industries.divisions_for_class(ipc_class) if d in divisions]
            match.links += [f"{ipc_class} → {industries.division_name(d, language)}" for d in linked]
        elif len(match.terms) < 6 and not any(term in shown for shown in match.terms):
            # jieba's search mode also yields a word's parts (锂电池: 锂电, 电池): say the word once
            match.terms = [shown for shown in match.terms if shown not in term] + [term]


def recommended_offers(enterprise: Enterprise, limit: int = 5) -> list[Match] | None:
    """The published offers that fit the enterprise's needs best and that it can apply for now,
    best first; None when it has not described its needs. Offers it applied for are left out."""
    query = dict(NeedsTerm.objects.filter(enterprise=enterprise).values_list("term", "weight"))
    if not query:
        return None
    postings = OfferTerm.objects.exclude(offer_id__in=License.objects.filter(enterprise=enterprise).values("offer_id"))
    documents = Offer.objects.filter(state=Offer.State.PUBLISHED).count()
    factors = _multipliers(query, MatchCorpus.Side.OFFERS, documents)
    candidates = _ranked(postings, "offer_id", factors, CANDIDATES)
    if not candidates:
        return []
    small = enterprise.size_class in SMALL_FIRMS
    matches: list[Match] = []
    # The fit filters on the best candidates first: most of the time the first slice fills the list.
    for start in range(0, len(candidates), 2 * limit):
        chunk = candidates[start : start + 2 * limit]
        # Availability's reason once per offer (the catalogue's `available` repeats it in WHERE,
        # which costs PostgreSQL more planning than running), then the open ones for their cards.
        closed = dict(
            Offer.objects.filter(pk__in=[pk for pk, _ in chunk], state=Offer.State.PUBLISHED)
            .with_availability(enterprise)
            .values_list("pk", "closed_because")
        )
        open_ids = [pk for pk, _ in chunk if pk in closed and closed[pk] is None]
        offers = Offer.objects.select_related("patent__owner").in_bulk(open_ids)
        for pk, score in chunk:
            if pk in offers:
                match = Match(offers[pk], score)
                if offers[pk].open_licence and small:
                    match.score += relevance.OPEN_LICENCE_FOR_SMALL
                    match.fit.append("open_licence")
                matches.append(match)
        if len(matches) >= limit:
            break
    matches.sort(key=lambda m: (-m.score, m.item.pk))
    matches = matches[:limit]
    needs = EnterpriseNeeds.objects.filter(enterprise=enterprise).first()
    divisions = needs.division_list if needs else []
    reasons = _reasons(OfferTerm.objects.all(), "offer_id", [m.item.pk for m in matches], factors)
    for match in matches:
        _explain(match, reasons.get(match.item.pk, []), divisions)
    return matches


def holders_of(offer: Offer) -> Any:
    """The licenses that keep an enterprise out of an offer's fitting enterprises and pushes: one
    applied for from this offer (in any state), or a live one on a patent of its package."""
    return License.objects.filter(
        Q(offer=offer) | Q(state__in=License.LIVE_STATES, patent_links__patent__offer_links__offer=offer)
    )


def fitting_enterprises(offer: Offer, limit: int = 10) -> list[Match]:
    """The enterprises whose needs the offer fits best, best first: only those that asked for
    fitting offers (their push consent stands), and none that already holds or applied for it
    (a license from this offer, or a live one on a patent of its package)."""
    query = dict(OfferTerm.objects.filter(offer=offer).values_list("term", "weight"))
    if not query:
        return []
    holders = holders_of(offer).values("enterprise_id")
    postings = NeedsTerm.objects.filter(enterprise__needs__push_consented_at__isnull=False).exclude(
        enterprise_id__in=holders
    )
    documents = EnterpriseNeeds.objects.count()
    factors = _multipliers(query, MatchCorpus.Side.NEEDS, documents)
    candidates = _ranked(postings, "enterprise_id", factors, 3 * limit)
    enterprises = Enterprise.objects.select_related("needs").in_bulk([pk for pk, _ in candidates])
    matches = []
    for pk, score in candidates:
        match = Match(enterprises[pk], score)
        if offer.open_licence and match.item.size_class in SMALL_FIRMS:
            match.score += relevance.OPEN_LICENCE_FOR_SMALL
            match.fit.append("open_licence")
        matches.append(match)
    matches.sort(key=lambda m: (-m.score, m.item.pk))
    matches = matches[:limit]
    reasons = _reasons(NeedsTerm.objects.all(), "enterprise_id", [m.item.pk for m in matches], factors)
    for match in matches:
        _explain(match, reasons.get(match.item.pk, []), match.item.needs.division_list)
    return matches


FUNNEL_STEPS = ("pushed", "emailed", "opened", "applied", "trial", "purchased")


def campaign_funnel(campaign: PushCampaign) -> list[dict[str, Any]]:
    """Each step of a campaign's pushes, by the enterprise's size class and in total."""
    return funnel(Push.objects.filter(campaign=campaign))


def book_push_funnel(book: Any) -> list[dict[str, Any]]:
    """The funnel of every push in a report's scope (selectors.BookFilter): the institution's
    campaigns, offers in the IPC section, pushed in the period."""
    return funnel(_in_book(Push.objects.all(), book, "campaign__institution", "created_at"))


def _in_book(rows: Any, book: Any, institution: str, moment: str) -> Any:
    """Rows of an offer (pushes, answers) in a report's scope: reached from their institution by
    `institution`, their offer's lead patent in the IPC section, their `moment` in the period."""
    if book.institution is not None:
        rows = rows.filter(**{institution: book.institution})
    if book.ipc_section:
        rows = rows.filter(offer__patent__ipc_class__istartswith=book.ipc_section)
    return rows.filter(book.period(f"{moment}__date"))


def _steps() -> dict[str, Any]:
    """Each step of the funnel as an aggregate over pushes: pushed, emailed (sent by the ledger),
    opened (its link), applied (a license from it), trial started, purchased."""
    sent = Reminder.objects.filter(
        kind=Reminder.Kind.OFFER_PUSHED, state=Reminder.State.SENT, subject_id=OuterRef("pk")
    )
    return {
        "pushed": Count("pk"),
        "emailed": Count("pk", filter=Exists(sent)),
        "opened": Count("pk", filter=Q(clicked_at__isnull=False)),
        "applied": Count("license"),
        "trial": Count("pk", filter=Q(license__trial_start__isnull=False)),
        "purchased": Count("pk", filter=Q(license__purchased_on__isnull=False)),
    }


def book_campaigns(book: Any, latest: int = 10) -> list[dict[str, Any]]:
    """The latest campaigns in a report's scope, each with its funnel (one query)."""
    pushes = _in_book(Push.objects.all(), book, "campaign__institution", "created_at")
    rows = (
        pushes.values("campaign_id", "campaign__name", "campaign__created_at")
        .annotate(**_steps())
        .order_by("-campaign__created_at", "-campaign_id")[:latest]
    )
    return [dict(row) for row in rows]


def funnel(pushes: Any) -> list[dict[str, Any]]:
    """Each step of these pushes, by the enterprise's size class and in total. In SQL, one pass
    over the pushes."""
    rows = pushes.values("enterprise__size_class").annotate(**_steps()).order_by("enterprise__size_class")
    labels = dict(Enterprise.SizeClass.choices)
    funnel: list[dict[str, Any]] = []
    for row in rows:
        counts: dict[str, Any] = dict(row)
        funnel.append(
            {"size_class": labels.get(counts["enterprise__size_class"], "—")} | {s: counts[s] for s in FUNNEL_STEPS}
        )
    total: dict[str, Any] = {"size_class": _("All")}
    total.update({step: sum(int(row[step]) for row in funnel) for step in FUNNEL_STEPS})
    return [*funnel, total]


def feedback_by_reason(feedback: Any) -> list[tuple[str, int]]:
    """How many answers gave each reason, every reason listed (in SQL, one GROUP BY)."""
    counts = dict(feedback.order_by().values("reason").annotate(n=Count("pk")).values_list("reason", "n"))
    return [(str(label), counts.get(code, 0)) for code, label in Feedback.Reason.choices]


def offer_feedback(offer: Offer, latest: int = 5) -> tuple[list[tuple[str, int]], list[Feedback]]:
    """Why enterprises did not take this offer (its versions too): the count per reason, and the
    latest answers with their notes."""
    same = Feedback.objects.filter(offer__patent_id=offer.patent_id)
    return feedback_by_reason(same), list(same.select_related("enterprise").order_by("-at", "-pk")[:latest])


def book_feedback(book: Any) -> list[tuple[str, int]]:
    """The answers in a report's scope: the institution's offers, the IPC section, the period."""
    return feedback_by_reason(_in_book(Feedback.objects.all(), book, "offer__patent__owner", "at"))
