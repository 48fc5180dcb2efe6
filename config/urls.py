from django.contrib import admin
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponseRedirect
from django.urls import include, path

from licensing.health import liveness


def favicon(request):
    """Browsers ask for /favicon.ico on every site: the app's own icon (its URL read on use, as
    the static manifest is there only once collected)."""
    return HttpResponseRedirect(staticfiles_storage.url("portal/favicon.svg"))


urlpatterns = [
    path("healthz/", liveness, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("licensing.portal.urls")),
]
