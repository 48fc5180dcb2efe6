"""Load benchmark: gunicorn (2 sync workers, production settings) on the loopback, driven by wrk
with logged-in sessions. For the admin license list (50 rows), the portal's "my licenses" page
(20 rows, and no rows: the cost of any logged-in page) and a trivial view (/healthz/): p50/p95/p99
latency and requests per second, at 16 concurrent connections and at 2 (one per worker: no
queueing). Prints figures only.

    make bench   # or, for one size:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_100k \\
        .venv/bin/python bench/load_bench.py --licenses 100000

Needs wrk (Debian package wrk; `make bench` installs it).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal

from common import ROOT, ensure_book
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from licensing import services
from licensing.demo.identifiers import make_uscc
from licensing.models import Enterprise, EnterpriseMember

REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.2f %.2f %.2f %.1f %d %d %d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.requests, summary.errors.status, errors))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def member(username: str, enterprise: Enterprise, admin) -> EnterpriseMember:
    found = EnterpriseMember.objects.filter(user__username=username).first()
    if found is None:
        found = services.sign_up_member(
            user_fields={"username": username, "email": f"{username}@sme.example", "password": "bench-pass-2026"},
            enterprise=enterprise,
            full_name="Bench",
        )
        services.approve_member(member_id=found.pk, by=admin)
    return found


def sessions() -> dict[str, str]:
    """Session cookies of a superuser, of an approved member of the SME with most licenses, and of
    a member of an SME with none (the same page with no rows: what any logged-in page costs)."""
    users = get_user_model().objects
    admin, _ = users.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    busiest = Enterprise.objects.filter(name__startswith="Bench SME").annotate(n=Count("licenses")).order_by("-n")
    newcomer = Enterprise(
        name="Bench SME without licenses",
        uscc=make_uscc(99_999_999, "310115"),
        industry="industry",
        employees=10,
        annual_revenue=Decimal(100),
    )
    sme = member("bench-sme", busiest.first(), admin)
    cookies = {}
    for name, user in (
        ("admin", admin),
        ("sme", sme.user),
        ("sme-empty", member("bench-sme-empty", newcomer, admin).user),
    ):
        client = Client()
        client.force_login(user)
        cookies[name] = f"sessionid={client.cookies['sessionid'].value}"
    print(f"SME member of {sme.enterprise.name}: {sme.enterprise.licenses.count()} licenses")
    return cookies


def queries(path: str, cookie: str) -> int:
    client = Client()
    client.cookies.load(cookie)
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def wrk(url: str, cookie: str, connections: int, seconds: int, script: str) -> dict:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "-s", script, url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    p50, p95, p99, rps, requests, non_2xx, errors = re.search(r"RESULT (.*)", out).group(1).split()
    return {
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "rps": float(rps),
        "requests": int(requests),
        "bad": int(non_2xx) + int(errors),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15, help="per measurement (after a 3 s warm-up)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (make bench does it).")
    print(ensure_book(args.licenses))
    cookies = sessions()
    targets = [
        ("trivial view /healthz/", "/healthz/", ""),
        ("portal my licenses, 0", "/licenses/", cookies["sme-empty"]),
        ("portal my licenses, 20", "/licenses/", cookies["sme"]),
        ("admin license list, 50", "/admin/licensing/license/", cookies["admin"]),
    ]
    for label, path, cookie in targets[1:]:
        print(f"{label}: {queries(path, cookie)} queries a request")
    connection.close()  # the server's workers have their own

    port = free_port()
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--workers", "2", "--log-level", "warning"]
    server = subprocess.Popen([*gunicorn, "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=os.environ)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        for label, path, cookie in targets:  # logged in, not redirected to a login page
            request = urllib.request.Request(base + path, headers={"Cookie": cookie} if cookie else {})
            with urllib.request.urlopen(request) as response:
                assert response.status == 200 and response.url == base + path, label
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            script.write(REPORT)
            script.flush()
            for connections in (16, 2):
                print(f"\ngunicorn, 2 sync workers; wrk, {connections} connections, {args.seconds} s each")
                columns = ("p50 ms", "p95 ms", "p99 ms", "req/s")
                print(f"{'page':<24} " + " ".join(f"{c:>8}" for c in columns) + f" {'p95 / trivial':>14} {'errors':>7}")
                trivial = None
                for label, path, cookie in targets:
                    wrk(base + path, cookie, connections, 3, script.name)  # warm-up
                    r = wrk(base + path, cookie, connections, args.seconds, script.name)
                    trivial = trivial or r["p95"]
                    print(
                        f"{label:<24} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} {r['rps']:>8.0f} "
                        f"{r['p95'] / trivial:>13.1f}x {r['bad']:>7}"
                    )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
