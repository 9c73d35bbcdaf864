from django.urls import path

from casework.interchange import views

app_name = "interchange"

urlpatterns = [
    path("imports/", views.upload, name="upload"),
    path("imports/<int:pk>/", views.run_detail, name="run"),
    path("imports/<int:pk>/errors.csv", views.run_errors, name="run_errors"),
    path("imports/<int:pk>/import/", views.run_confirm, name="run_confirm"),
    path("imports/<int:pk>/discard/", views.run_discard, name="run_discard"),
    path("imports/mappings/", views.mappings, name="mappings"),
    path("imports/mappings/new/", views.mapping_edit, name="mapping_new"),
    path("imports/mappings/<int:pk>/", views.mapping_edit, name="mapping_edit"),
    path("exports/", views.export, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
