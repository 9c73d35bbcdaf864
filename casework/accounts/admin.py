from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from casework.accounts.models import Agency, ApiToken, Team, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "require_mfa", "is_active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Agency settings change through the administration area, which keeps their history
        # (casework/accounts/agency_settings.py).
        return ["require_mfa", "retention_days"] if obj is not None else []


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "agency"]
    list_filter = ["agency"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "agency", "team", "role", "is_administrator", "is_active"]
    list_filter = ["agency", "role", "is_active"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Casework", {"fields": ("agency", "team", "role", "is_administrator")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are made on the tokens screen (after a fresh second factor) or with
    `casework token create`, and revoked there, so every one is scoped, bound and audited."""

    list_display = ["name", "user", "prefix", "scopes", "created_at", "expires_at", "revoked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
