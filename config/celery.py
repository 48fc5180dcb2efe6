"""The Celery app. Redis is the broker when REDIS_URL is set (production, CI); without it, an
embedded filesystem broker under var/ lets web, worker and beat run with nothing installed."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tto")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
