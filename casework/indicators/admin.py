from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from casework.indicators.models import Dhis2Mapping, IndicatorDefinition


@admin.register(IndicatorDefinition)
class IndicatorDefinitionAdmin(admin.ModelAdmin):
    list_display = ["code", "agency", "kind", "period_semantics", "is_builtin", "is_active"]
    list_filter = ["kind", "is_builtin", "is_active"]
    search_fields = ["code"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The built-ins are the contract's definitions: they are read, never edited.
        if obj is not None and obj.is_builtin:
            return [field.name for field in self.model._meta.fields]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.is_builtin


@admin.register(Dhis2Mapping)
class Dhis2MappingAdmin(admin.ModelAdmin):
    list_display = ["indicator_code", "disaggregation", "key", "figure", "data_element", "org_unit"]
    list_filter = ["agency", "indicator_code", "figure"]
