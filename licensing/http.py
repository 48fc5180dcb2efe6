"""What every request goes through before a view sees it: hostile parameters and oversized
bodies are refused with 4xx, the client's address is read behind a trusted proxy only, and a
query cut short by the database's statement timeout becomes a clear page instead of a hung worker.
"""

import logging
import re

from django.conf import settings
from django.db import OperationalError
from django.http import HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from .receipts import too_large

log = logging.getLogger(__name__)

# A whole number as people type it in a query string: ASCII digits, short enough for a bigint.
_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value) -> int | None:
    """An id from a query parameter, or None for anything else ("²", "1e3", 40 digits)."""
    return int(value) if isinstance(value, str) and _ID.fullmatch(value) else None


def client_ip(request) -> str:
    """The client's address. Behind TRUSTED_PROXY_COUNT reverse proxies it is the address the
    outermost trusted proxy saw, taken from the right of X-Forwarded-For (entries further left are
    whatever the client sent, so they are never trusted); with no proxy, REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-count] if len(forwarded) >= count else remote


def axes_username(request, credentials=None) -> str | None:
    """The username django-axes records: as typed, cut to the length of a username (its column
    holds 255 characters; a longer one would fail the insert and the login page with it)."""
    source = credentials if credentials and "username" in credentials else request.POST
    username = source.get("username") if source is not None else None
    return username[:150] if isinstance(username, str) else None


def _has_nul(query_dict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in query_dict.lists())


# A number no id column holds (bigint has 19 digits at most): PostgreSQL finds nothing with it,
# SQLite cannot even bind it. Search terms may be any text, long numbers included.
_TOO_LONG_NUMBER = re.compile(r"[0-9]{19,}")
SEARCH_PARAMETERS = frozenset({"q", "term"})


def _has_impossible_id(request) -> bool:
    if _TOO_LONG_NUMBER.search(request.path_info):
        return True
    return any(
        _TOO_LONG_NUMBER.fullmatch(value.strip())
        for key, values in request.GET.lists()
        if key not in SEARCH_PARAMETERS
        for value in values
    )


class RequestGuardMiddleware:
    """Refuses what no page can use, before any view or query sees it:
    - a body larger than REQUEST_MAX_BYTES (by its Content-Length, before it is read): 413;
    - a NUL character in any query or form parameter (PostgreSQL cannot store or compare it): 400;
    - a number no id column holds, in the path or a parameter (other than a search term): 404.
    And turns a statement cancelled by STATEMENT_TIMEOUT_MS into a 503 that says so."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponseBadRequest(_("Bad request."))
        if length > settings.REQUEST_MAX_BYTES:
            return self._refuse(request, 413, too_large(length, settings.RECEIPT_MAX_BYTES))
        if _has_nul(request.GET):
            return self._refuse(request, 400, _("The address contains a character that is not allowed."))
        if _has_impossible_id(request):
            return self._refuse(request, 404, _("Nothing has this number."))
        if request.method == "POST" and _has_nul(request.POST):
            return self._refuse(request, 400, _("The form contains a character that is not allowed."))
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError) and "statement timeout" in str(exception):
            log.warning("Statement timeout on %s %s", request.method, request.path)
            return self._refuse(
                request,
                503,
                _(
                    "This page took too long to compute and was stopped. "
                    "Narrow the search or the filters and try again."
                ),
            )
        return None

    @staticmethod
    def _refuse(request, status: int, message: str) -> HttpResponse:
        body = render_to_string("refused.html", {"status": status, "message": message}, request=request)
        return HttpResponse(body, status=status)
