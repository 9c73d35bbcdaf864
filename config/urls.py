from django.contrib import admin
from django.urls import include, path

from casework.accounts.views import home
from casework.api import api

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("casework.accounts.urls")),
    path("cases/", include("casework.cases.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
