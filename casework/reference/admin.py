from django.contrib import admin

from casework.reference.models import Location, Programme, ProtectionConcern


@admin.register(Programme, ProtectionConcern)
class LabelledItemAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "is_active"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    readonly_fields = ["adm1_code", "adm2_code", "adm3_code"]
