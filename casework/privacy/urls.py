from django.urls import path

from casework.privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/audit-log/", views.audit_log, name="audit_log"),
    path("privacy/audit-log/export.csv", views.audit_export, name="audit_export"),
    path("privacy/audit-log/readers/", views.readers, name="readers"),
    path("privacy/alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("privacy/settings/", views.privacy_settings, name="settings"),
    path("privacy/requests/", views.request_list, name="requests"),
    path("privacy/requests/new/", views.request_new, name="request_new"),
    path("privacy/requests/<int:pk>/", views.request_detail, name="request"),
    path("privacy/requests/<int:pk>/identity/", views.confirm_identity, name="identity"),
    path("privacy/requests/<int:pk>/handler/", views.assign, name="assign"),
    path("privacy/requests/<int:pk>/close/", views.close, name="close"),
    path("privacy/requests/<int:pk>/compile/", views.compile_package, name="compile"),
    path("privacy/requests/<int:pk>/corrections/", views.link_corrections, name="corrections"),
    path("privacy/requests/<int:pk>/erase/", views.erase, name="erase"),
    path("privacy/packages/<int:pk>/", views.package, name="package"),
    path(
        "privacy/packages/<int:pk>/release.<str:file_format>",
        views.release,
        name="release",
    ),
    path("privacy/reviews/", views.reviews, name="reviews"),
]
