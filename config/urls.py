from django.contrib import admin
from django.urls import include, path

from casework.accounts.views import home
from casework.api import api

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("casework.accounts.urls")),
    path("administration/", include("casework.accounts.administration_urls")),
    path("cases/", include("casework.cases.urls")),
    path("persons/", include("casework.cases.person_urls")),
    # Steps of the process; case-scoped screens live under /cases/<id>/… in each app.
    path("", include("casework.attributes.urls")),
    path("", include("casework.worklist.urls")),
    path("", include("casework.assessments.urls")),
    path("", include("casework.plans.urls")),
    path("", include("casework.referrals.urls")),
    path("", include("casework.feedback.urls")),
    path("", include("casework.supervision.urls")),
    path("", include("casework.indicators.urls")),
    path("", include("casework.interchange.urls")),
    path("", include("casework.privacy.urls")),
    path("", include("casework.retention.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# A database fault raised inside a middleware (a session save, a rate-limit counter) becomes a
# 500 at that layer; this answers it as the 503 the outage middleware gives (core/outage.py).
handler500 = "casework.core.outage.server_error"
