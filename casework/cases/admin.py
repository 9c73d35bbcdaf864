"""Cases in the Django admin go through the access gate like everywhere else.

The admin lists only what the signed-in user may see (a platform superuser without a case role
sees nothing) and never shows encrypted personal fields.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from casework.cases.access import visible_cases
from casework.cases.models import Case


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["reference", "status", "risk_level", "programme", "team", "caseworker"]
    list_filter = ["status", "risk_level", "programme"]
    search_fields = ["reference"]
    # A tuple, not a list: the stubs type `fields` as a list of names or of groups of names,
    # and only a tuple (covariant) of names is also what `readonly_fields` takes.
    fields = (
        "reference",
        "status",
        "risk_level",
        "programme",
        "service_type",
        "team",
        "caseworker",
        "registered_on",
        "closed_on",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return visible_cases(request.user).select_related("programme", "team", "caseworker")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
