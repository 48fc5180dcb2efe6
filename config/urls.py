from django.contrib import admin
from django.urls import include, path

from licensing.health import liveness

urlpatterns = [
    path("healthz/", liveness, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("licensing.portal.urls")),
]
