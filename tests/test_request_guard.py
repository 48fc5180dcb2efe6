"""Hostile requests get a 4xx that says why, never a 500: NUL bytes anywhere in the parameters,
ids no database column holds, usernames longer than a username, bodies larger than a receipt.
Every URL of the portal and the admin is walked with them (taken from the URLconf, so a new page
cannot escape the walk). Responses carry a Content-Security-Policy and a Permissions-Policy; a
runaway query is cut off by the statement timeout with a clear page; the client's address is
read from a trusted proxy only."""

import pytest
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from licensing.http import client_ip, parse_id

from .factories import EnterpriseFactory

HOSTILE_QUERIES = [
    {"q": "\x00"},
    {"state": "\x00"},
    {"term": "a\x00b"},
    {"institution": "²"},
    {"institution": "9" * 40},
    {"page": "9" * 40},
    {"p": "-1"},
    {"o": "999"},
    {"q": "x" * 5000},
    {"due": "30\x00"},
    {"paid_on__gte": "0001-01-01"},
    {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"e": "1"},
]


def _walk(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def concrete_urls(ids: dict) -> list[str]:
    """Every URL of the site with its parameters filled in: ids of real objects, and absurd
    values for the rest."""
    urls = []
    for route, _pattern in _walk(get_resolver()):
        if route.startswith("^") or "(?P" in route:  # the admin's regex routes (app lists, redirects)
            continue
        url = "/" + route
        for name, value in ids.items():
            url = url.replace(f"<int:{name}>", str(value)).replace(f"<path:{name}>", str(value))
            url = url.replace(f"<str:{name}>", str(value)).replace(f"<slug:{name}>", str(value))
        url = url.replace("<int:pk>", "99999999999999999999").replace("<path:object_id>", "1")
        if "<" in url:
            url = url.split("<")[0]
        urls.append(url)
    return sorted(set(urls))


IDS = {
    "offer_id": 1,
    "report_id": 1,
    "export_id": 1,
    "token": "x",
    "action": "x",
    "kind": "licenses",
    "version": 1,
    "field": "licensee_copy",
}


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "sme", "staff", "superuser"])
def test_no_url_answers_500_to_hostile_parameters(db, who, make_member, two_institutions, superuser):
    client = Client(raise_request_exception=False)
    if who == "sme":
        client.force_login(make_member(EnterpriseFactory()).user)
    elif who == "staff":
        client.force_login(two_institutions["A"]["user"])
    elif who == "superuser":
        client.force_login(superuser)
    urls = concrete_urls(IDS)
    assert len(urls) > 60  # portal, admin, reports
    failures = []
    for url in urls:
        for query in HOSTILE_QUERIES:
            response = client.get(url, query)
            if response.status_code >= 500:
                failures.append((url, query, response.status_code))
        response = client.post(url, {"username": "x" * 300, "q": "\x00", "reason": "\x00"})
        if response.status_code >= 500:
            failures.append((url, "POST", response.status_code))
    assert failures == []


def test_nul_in_a_parameter_is_refused_with_a_reason(admin_client):
    response = admin_client.get("/admin/licensing/license/", {"state": "\x00"}, headers={"accept-language": "en"})
    assert response.status_code == 400
    assert b"character that is not allowed" in response.content

    response = admin_client.post("/admin/licensing/license/", {"q": "a\x00"}, headers={"accept-language": "zh-hans"})
    assert response.status_code == 400
    assert "不允许" in response.content.decode()


def test_ids_no_column_holds_are_not_found_on_either_database(client, db):
    assert parse_id("²") is None and parse_id("9" * 40) is None and parse_id("1e3") is None
    assert parse_id("42") == 42
    assert client.get("/", {"institution": "²"}).status_code == 200  # not a number: ignored
    assert client.get("/patents/99999999999999999999/").status_code == 404
    assert client.get("/", {"institution": "9" * 19}).status_code == 404
    assert client.get("/", {"q": "9" * 40}).status_code == 200  # a search term may be any text


def test_a_login_with_a_username_longer_than_any_is_an_ordinary_failure(client, db):
    response = client.post("/login/", {"username": "u" * 256, "password": "x"})
    assert response.status_code == 200  # the form again, with its error
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.get().username == "u" * 150


@pytest.mark.parametrize("size", [10 * 1024 * 1024, 100 * 1024 * 1024])
def test_a_body_larger_than_a_receipt_is_refused_before_it_is_read(sme_client, size, settings):
    # The body sent is small: the refusal reads Content-Length only, never the body.
    response = sme_client.generic(
        "POST",
        "/licenses/1/payments/new/",
        b"x" * 10,
        content_type="multipart/form-data; boundary=x",
        headers={"content-length": str(size), "accept-language": "en"},
    )
    assert response.status_code == 413
    body = response.content.decode()
    assert "the largest accepted is 5.0\xa0MB" in body


def test_pages_carry_a_content_security_policy_and_a_permissions_policy(client, db):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp  # no outside origin
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_the_admin_index_has_no_inline_style_the_policy_would_block(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert 'style="' not in body and "<script>" not in body


def test_a_runaway_query_is_cut_off_with_a_clear_page(postgres_only, admin_client, monkeypatch):
    """The statement timeout is on the app's connections; a request whose query hits it gets a
    503 that says what happened, and the worker is free again."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "15s"

    from licensing import selectors

    def slow(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '50ms'")
            cursor.execute("SELECT pg_sleep(2)")

    monkeypatch.setattr(selectors, "pipeline", slow)
    client = admin_client
    client.raise_request_exception = False
    response = client.get("/admin/dashboard/", headers={"accept-language": "en"})
    assert response.status_code == 503
    assert b"took too long" in response.content


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no trusted proxy: the header is the client's own words
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the left entry was sent by the client
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer entries than proxies: not trusted
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_failed_logins_lock_the_client_not_the_proxy(client, make_member, settings):
    settings.AXES_FAILURE_LIMIT = 2
    member = make_member(username="lina")
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(3):
        client.post("/login/", {"username": "lina", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)
    locked = client.post(
        "/login/", {"username": "lina", "password": "pw-Secret-123"}, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy
    )
    assert locked.status_code == 429
    other_client = Client()
    response = other_client.post(
        "/login/", {"username": "lina", "password": "pw-Secret-123"}, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy
    )
    assert response.status_code == 302  # another client behind the same proxy logs in
    assert member.user.username == "lina"


def test_health_check_fails_in_production_without_collected_static_files(client, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path
    response = client.get("/healthz/")
    assert response.status_code == 503 and b"static" in response.content
    (tmp_path / "staticfiles.json").write_text("{}")
    assert client.get("/healthz/").status_code == 200


@pytest.mark.slow
def test_the_production_start_collects_static_files_and_serves_pages(tmp_path):
    """deploy/start-web with DEBUG off: collectstatic runs, so /healthz/ is ok and pages render
    (without it every page would be a 500), with their security headers."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from django.conf import settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "0",
        "SECRET_KEY": "production-start-test-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(tmp_path / "static"),
        "SKIP_MIGRATE": "1",
        "PYTHON": sys.executable,
        "BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "1",
    }
    server = subprocess.Popen(
        [str(settings.BASE_DIR / "deploy" / "start-web")], env=env, start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        for _ in range(200):  # up to 20 s for collectstatic and gunicorn to start
            try:
                health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(server.stderr.read1().decode() if server.poll() is not None else "no answer")
        assert health.status == 200 and (tmp_path / "static" / "staticfiles.json").exists()
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5)
        body = page.read().decode()
        assert page.status == 200
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        stylesheet = body.split('href="/static/portal/')[1].split('"')[0]
        assert stylesheet != "portal.css"  # the hashed name from the manifest
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/static/portal/{stylesheet}").status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
