from django.urls import path

from casework.indicators import views

app_name = "indicators"

urlpatterns = [
    path("indicators/", views.report, name="report"),
    path("indicators/trends/", views.trends, name="trends"),
]
