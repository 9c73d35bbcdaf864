from django.urls import path

from casework.indicators import consortium_views, dhis2_views, frozen_views, gap_views, views

app_name = "indicators"

urlpatterns = [
    path("indicators/", views.report, name="report"),
    path("indicators/trends/", views.trends, name="trends"),
    path("indicators/service-gaps/", gap_views.service_gaps, name="service_gaps"),
    # Reports as submitted (frozen_views.py).
    path("indicators/frozen/", frozen_views.frozen_list, name="frozen_list"),
    path("indicators/frozen/new/", frozen_views.freeze, name="freeze"),
    path("indicators/frozen/<int:pk>/", frozen_views.frozen_detail, name="frozen_detail"),
    path(
        "indicators/frozen/<int:pk>/download.<str:file_format>",
        frozen_views.frozen_download,
        name="frozen_download",
    ),
    # The consortium report and the agreements behind it (consortium_views.py).
    path("indicators/consortium/", consortium_views.consortium_report, name="consortium"),
    path(
        "indicators/consortium/agreements/",
        consortium_views.agreements,
        name="consortium_agreements",
    ),
    path(
        "indicators/consortium/agreements/<int:pk>/revoke/",
        consortium_views.revoke_agreement,
        name="consortium_revoke",
    ),
    path(
        "indicators/consortium/received/<int:pk>/accept/",
        consortium_views.accept_agreement,
        name="consortium_accept",
    ),
    path(
        "indicators/consortium/received/<int:pk>/refuse/",
        consortium_views.refuse_agreement,
        name="consortium_refuse",
    ),
    # Where each figure goes in DHIS2 (dhis2_views.py).
    path("indicators/dhis2/", dhis2_views.mappings, name="dhis2_mappings"),
    path("indicators/dhis2/<int:pk>/delete/", dhis2_views.delete_mapping, name="dhis2_delete"),
]
