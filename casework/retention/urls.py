from django.urls import path

from casework.retention import views

app_name = "retention"

# The agency-administration area (issue 15): the purge screen.
urlpatterns = [
    path("administration/purge/", views.purge_screen, name="purge"),
    path("administration/purge/request/", views.request_purge, name="request"),
    path("administration/purge/<int:pk>/confirm/", views.confirm_purge, name="confirm"),
    path("administration/purge/<int:pk>/cancel/", views.cancel_purge, name="cancel"),
]
