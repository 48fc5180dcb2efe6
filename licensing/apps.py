from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = _("Patent licensing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .roles import sync_tto_staff_group

        post_migrate.connect(sync_tto_staff_group, sender=self)
