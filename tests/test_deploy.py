"""The deployment files a TTO's IT staff follow (README, Deploy; issue 15, point 16): the example
environment names every setting the app reads, passes Django's deploy checks as it is, can be read
by sh (the backup script) and systemd alike, and the units start what the repository has."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
ENV_EXAMPLE = ROOT / "deploy" / "env.example"


def example_env() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value.strip('"')
    return values


def test_the_example_environment_names_every_setting_the_app_reads():
    read = set(
        re.findall(r'(?:environ\.get\(|env_bool\(|environ\[)"([A-Z_]+)"', (ROOT / "config" / "settings.py").read_text())
    )
    read |= set(re.findall(r"\$\{([A-Z_]+):-", (ROOT / "deploy" / "start-web").read_text()))
    read -= {"PYTHON", "SKIP_MIGRATE"}  # the start script's own switches, not settings
    assert read - set(example_env()) == set()
    assert {"DATABASE_URL", "SITE_URL", "REDIS_URL"} <= set(example_env())


def test_the_example_environment_passes_the_deploy_checks():
    env = {**os.environ, **example_env(), "DATABASE_URL": "sqlite:///:memory:"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sh_reads_the_example_environment_as_systemd_does():
    script = f'set -a; . {ENV_EXAMPLE}; set +a; printf %s "$DEFAULT_FROM_EMAIL"'
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert result.stdout == example_env()["DEFAULT_FROM_EMAIL"] == "技术转移中心 <tto-noreply@example.edu.cn>"
    assert subprocess.run(["sh", "-n", str(ROOT / "deploy" / "backup")]).returncode == 0


def test_each_unit_runs_what_the_repository_has():
    for unit in ("tto-web", "tto-worker", "tto-beat"):
        text = (ROOT / "deploy" / "systemd" / f"{unit}.service").read_text()
        assert "EnvironmentFile=/etc/tto-licensing.env" in text, unit
        command = re.search(r"^ExecStart=/srv/tto-licensing/(\S+)", text, re.M).group(1)
        assert command in ("deploy/start-web", ".venv/bin/celery"), unit
        if command == "deploy/start-web":
            assert os.access(ROOT / command, os.X_OK)
        else:
            assert " -A config " in text


def test_the_app_serves_its_own_icon(client, db):
    """Issue 15, point 14: a favicon from the app itself (no CDN), linked from both sites."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response.url.endswith("portal/favicon.svg")
    assert 'rel="icon"' in client.get("/").content.decode()
    assert 'rel="icon"' in client.get("/admin/login/").content.decode()


def test_a_not_found_is_printed_once(client, db, settings):
    """What reaches the console: every handler a record passes on its way up, counted."""
    import logging

    seen = []

    class Count(logging.Handler):
        def emit(self, record):
            if "Not Found" in record.getMessage():
                seen.append(record)

    counter = Count()
    loggers = [logging.getLogger(name) for name in ("django.request", "django", "")]
    # the console handlers (pytest's own capture handlers are StreamHandler subclasses: not these)
    handlers = {h for logger in loggers for h in logger.handlers if type(h) is logging.StreamHandler}
    originals = {h: h.emit for h in handlers}
    for h in handlers:
        h.emit = counter.emit  # each console handler the record reaches counts once
    try:
        settings.DEBUG = True  # Django's own console handler only prints while DEBUG is on
        assert client.get("/no-such-page/").status_code == 404
    finally:
        for h, emit in originals.items():
            h.emit = emit
    assert len(seen) == 1


def _run_line_site_url(host: str, env: dict[str, str]) -> str:
    """What `make run HOST=…` gives the processes as SITE_URL: its last line (the one that starts
    them), run by sh with the process manager replaced by printenv."""
    # Run as a newcomer would, not as a sub-make of `make test` (which would print "Entering
    # directory" lines and pass its own flags down).
    outer = {key: value for key, value in env.items() if key not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", f"HOST={host}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=outer,
    )
    start = plan.stdout.strip().splitlines()[-1]
    assert "honcho start" in start
    line = start[: start.index(" .venv/bin/honcho")] + " printenv SITE_URL"
    result = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=30, env=env)
    return result.stdout.strip()


def test_make_run_points_the_links_in_emails_at_its_host():
    """Issue 22, point 4: links in emails pointed at port 8000 whatever HOST said."""
    env = {key: value for key, value in os.environ.items() if key != "SITE_URL"}
    assert _run_line_site_url("192.168.1.20:9000", env) == "http://192.168.1.20:9000"
    # A SITE_URL of one's own (a proxy's https address) wins.
    assert _run_line_site_url("127.0.0.1:8000", {**env, "SITE_URL": "https://tto.example.edu.cn"}) == (
        "https://tto.example.edu.cn"
    )


def test_the_console_backend_prints_subjects_as_people_read_them():
    import io

    from django.core.mail import EmailMessage

    from licensing.mail import ReadableConsoleBackend

    stream = io.StringIO()
    message = EmailMessage("您对专利的试用已开始", "正文", "北京大学 <noreply@tto.example>", ["a@sme.example"])
    ReadableConsoleBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert "Subject: 您对专利的试用已开始" in printed and "From: 北京大学 <noreply@tto.example>" in printed
    assert "=?utf-8?" not in printed and "正文" in printed
