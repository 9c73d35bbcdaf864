from django.urls import path

from casework.indicators import frozen_views, gap_views, views

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
]
