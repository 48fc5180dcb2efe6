"""Settings, read from environment variables so one codebase serves dev, CI and production.

With nothing set, the app runs on an embedded SQLite database in DEBUG mode.
"""

import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key" if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "licensing.apps.TTOAdminConfig",  # django.contrib.admin with the TTO's dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "licensing.apps.LoginProtectionConfig",  # django-axes, its admin section named in both languages
    "csp",
    "licensing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "licensing.http.RequestGuardMiddleware",  # NUL bytes, oversized bodies, statement timeouts
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

# Failed logins are throttled per username and address (portal and admin alike).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 1  # hour
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False
# Behind a reverse proxy every client would share the proxy's address: set TRUSTED_PROXY_COUNT to
# the number of proxies in front of the app (each appends to X-Forwarded-For), and the address
# the outermost one saw is the client's. 0 (the default) trusts no header: REMOTE_ADDR.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "licensing.http.client_ip"
AXES_USERNAME_CALLABLE = "licensing.http.axes_username"
# What costs someone else an email or an account (licensing/throttle.py): attempts an hour.
RATE_LIMITS = {
    "password_reset": {"per_email": 3, "per_client": 10},
    "sign_up": {"per_email": 3, "per_client": 10},
}
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:licenses"
LOGOUT_REDIRECT_URL = "portal:catalogue"

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60)}


def _default_statement_timeout_ms() -> int:
    """A web request's query that runs longer than 15 s is cancelled (a clear 503 page, see
    licensing/http.py) instead of holding a web worker and a database backend. The Celery worker
    (sweeps, exports of a million rows) gets 30 minutes; management commands (migrations,
    seeding) none (0)."""
    program, command = Path(sys.argv[0]).name, sys.argv[1:2]
    if program == "celery":
        return 30 * 60 * 1000
    if program in ("manage.py", "django-admin") and command != ["runserver"]:
        return 0
    return 15_000


STATEMENT_TIMEOUT_MS = int(os.environ.get("STATEMENT_TIMEOUT_MS") or _default_statement_timeout_ms())
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles every query estimated above jit_above_cost, and estimates of
    # searches are rough: the license search over 100k licenses took 1.3 s with it, 0.1 s without.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c jit=off -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    )
# A PostgreSQL read replica (streaming replication of the primary): the dashboard, data exports
# and admin searches read from it (licensing/replica.py); "primary" reads the primary through a
# second connection (to try the routing on one database).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
READ_REPLICA = bool(DATABASE_REPLICA_URL)
if READ_REPLICA:
    replica: dict[str, Any] = (
        dict(DATABASES["default"])
        if DATABASE_REPLICA_URL == "primary"
        else dict(dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60))
    )
    if replica["ENGINE"] == "django.db.backends.postgresql":
        replica["OPTIONS"] = {"options": f"-c jit=off -c statement_timeout={STATEMENT_TIMEOUT_MS}"}
    DATABASES["replica"] = {**replica, "TEST": {"MIRROR": "default"}}  # type: ignore[typeddict-item]
DATABASE_ROUTERS = ["licensing.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
FORMAT_MODULE_PATH = ["licensing.formats"]  # money grouped by thousands in Chinese too
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "licensing" / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

# Uploaded receipts: outside the web root, served only by views that check who asks.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "var" / "private"))
RECEIPT_MAX_BYTES = int(os.environ.get("RECEIPT_MAX_BYTES", str(5 * 1024 * 1024)))
FILE_UPLOAD_PERMISSIONS = 0o600
# No request body larger than a receipt plus its form is read at all (RequestGuardMiddleware
# refuses it by its Content-Length with 413); the proxy in front should refuse it first
# (nginx: client_max_body_size 6m). Form fields without files: at most 1 MB.
REQUEST_MAX_BYTES = RECEIPT_MAX_BYTES + 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # larger uploads are spooled to a temporary file

# Content-Security-Policy: the app serves everything it uses itself and runs no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features the app never uses are switched off for it and anything it embeds.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},  # not a line per successful login
        # WeasyPrint logs each rendering step, and warns of every resource it is refused (licensing.pdf).
        "weasyprint": {"level": "ERROR"},
        "weasyprint.progress": {"level": "ERROR"},
        # Django's own console handler would print each "Not Found" a second time beside the root's.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# -- email: SMTP when EMAIL_HOST is set, the console otherwise ------------------------------------
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "licensing.mail.ReadableConsoleBackend"
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "TTO licensing <noreply@tto.example>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")  # links in emails point here
# Who approves the sign-ups that came to no institution's offer (a platform administrator).
# The version of the privacy notice (/privacy/) a sign-up consents to (PIPL Art. 14, 17): a new
# text gets a new version, and each member's consent records the version it agreed to.
PRIVACY_NOTICE_VERSION = "2026-12"
# The notice an SME agrees to when it asks for offers to be pushed (templates/portal/needs.html).
PUSH_NOTICE_VERSION = "2026-12"
# At most this many offers pushed to one enterprise in a business month (issue 26).
PUSHES_PER_MONTH = int(os.environ.get("PUSHES_PER_MONTH", "4"))
PLATFORM_CONTACT_EMAIL = os.environ.get("PLATFORM_CONTACT_EMAIL", "")

# Open licences (专利开放许可, Patent Law Arts. 50-52): CNIPA's 2024 guidance caps the declared fee
# at about 20,000,000 CNY for a fixed fee, and a royalty at 20% of net sales or 40% of profit.
# Guidance, not statute: each can be set per deployment.
OPEN_LICENCE_MAX_FIXED_FEE = Decimal(os.environ.get("OPEN_LICENCE_MAX_FIXED_FEE", "20000000"))
OPEN_LICENCE_MAX_ROYALTY_ON_SALES = Decimal(os.environ.get("OPEN_LICENCE_MAX_ROYALTY_ON_SALES", "0.20"))
OPEN_LICENCE_MAX_ROYALTY_ON_PROFIT = Decimal(os.environ.get("OPEN_LICENCE_MAX_ROYALTY_ON_PROFIT", "0.40"))

# -- Celery: Redis in production and CI, an embedded filesystem broker otherwise -------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = Path(os.environ.get("BROKER_DIR", BASE_DIR / "var" / "broker"))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),  # kombu's default is ./control in the working directory
        "store_processed": False,
    }
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Hourly at SWEEP_MINUTE; SWEEP_INTERVAL_SECONDS (e.g. in tests) runs it every N seconds instead.
CELERY_BEAT_SCHEDULE = {
    # Matching: the month's digest of new offers, for the institutions that asked for it.
    "monthly-digest": {"task": "licensing.monthly_digest", "schedule": crontab(day_of_month="1", hour=9, minute=30)},
    "lifecycle-sweep": {
        "task": "licensing.sweep",
        "schedule": float(os.environ["SWEEP_INTERVAL_SECONDS"])
        if os.environ.get("SWEEP_INTERVAL_SECONDS")
        else crontab(minute=int(os.environ.get("SWEEP_MINUTE", "5"))),
    },
}
# Seconds before the first retry of a reminder whose email could not be sent; doubles each time.
REMINDER_RETRY_BASE_SECONDS = int(os.environ.get("REMINDER_RETRY_BASE_SECONDS", "60"))

# The dashboard reads its figures from the tallies PostgreSQL keeps (licensing/models/tallies.py);
# off, it reads the raw tables (as on SQLite). Tests compare the two.
DASHBOARD_TALLIES = os.environ.get("DASHBOARD_TALLIES", "1") == "1"
