from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from casework.accounts.models import Agency, ApiToken, Team, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "require_mfa", "is_active"]
    search_fields = ["code", "name"]


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
    list_display = ["name", "user", "prefix", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["digest", "prefix", "created_at", "last_used_at"]
