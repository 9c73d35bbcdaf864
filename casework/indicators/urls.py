from django.urls import path

from casework.indicators import gap_views, views

app_name = "indicators"

urlpatterns = [
    path("indicators/", views.report, name="report"),
    path("indicators/trends/", views.trends, name="trends"),
    path("indicators/service-gaps/", gap_views.service_gaps, name="service_gaps"),
]
