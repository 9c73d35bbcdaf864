from django.contrib.auth import views as auth_views
from django.urls import path

from casework.accounts import administration, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/sent/", views.password_reset_done, name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("two-factor/set-up/", views.mfa_enrol, name="mfa_enrol"),
    path("two-factor/", views.mfa_verify, name="mfa_verify"),
    path("two-factor/recovery-codes/", views.mfa_recovery_codes, name="mfa_recovery_codes"),
    path("tokens/", administration.my_tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", administration.revoke, name="token_revoke"),
    path("users/", views.user_list, name="users"),
    path("matching/", views.match_agreements, name="match_agreements"),
    path("users/<int:user_id>/end-sessions/", views.user_end_sessions, name="user_end_sessions"),
    path("users/<int:user_id>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path(
        "users/<int:user_id>/reset-two-factor/",
        views.user_reset_two_factor,
        name="user_reset_two_factor",
    ),
    path(
        "users/<int:user_id>/enrolment-code/",
        views.user_issue_enrolment_code,
        name="user_issue_enrolment_code",
    ),
]
