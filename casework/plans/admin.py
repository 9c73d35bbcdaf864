"""Plans in the Django admin go through the access gate; plan text is never shown here.

An agency's own near-duplicate threshold is configured here (PlanSettings).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from casework.cases.access import visible_cases
from casework.plans.models import CasePlan, PlanSettings


@admin.register(CasePlan)
class CasePlanAdmin(admin.ModelAdmin):
    list_display = ["case", "version", "status", "planned_on", "is_group"]
    list_filter = ["status", "is_group"]
    fields = ("case", "version", "status", "planned_on", "is_group", "submitted_at")
    readonly_fields = ("case", "version", "status", "planned_on", "is_group", "submitted_at")

    def get_queryset(self, request: HttpRequest) -> Any:
        return CasePlan.objects.filter(
            case_id__in=visible_cases(request.user).values("pk")
        ).select_related("case")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PlanSettings)
class PlanSettingsAdmin(admin.ModelAdmin):
    list_display = ["agency", "near_duplicate_threshold"]

    def get_queryset(self, request: HttpRequest) -> Any:
        user: Any = request.user
        queryset = super().get_queryset(request).select_related("agency")
        if user.is_superuser:
            return queryset
        return queryset.filter(agency_id=user.agency_id)
