"""The agency-administration area (/administration/): administrators of the agency only."""

from django.urls import path

from casework.accounts import administration

app_name = "administration"

urlpatterns = [
    path("", administration.home, name="home"),
    path("tokens/", administration.agency_tokens, name="tokens"),
    path("settings/", administration.agency_settings_list, name="settings"),
    path("settings/<str:key>/", administration.agency_setting_change, name="setting"),
    path("service-accounts/", administration.service_accounts, name="service_accounts"),
    path(
        "service-accounts/<int:user_id>/token/",
        administration.service_account_token,
        name="service_account_token",
    ),
]
