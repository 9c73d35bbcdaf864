"""The directory in the Django admin, for platform administrators. Referrals are not here: they
hold shared personal data and are reached only through the access gate (screens and API)."""

from django.contrib import admin

from casework.referrals.models import Organisation, Service


class ServiceInline(admin.TabularInline):
    model = Service
    fields = ["name", "sector", "nationwide", "answer_within_days", "is_active"]
    extra = 0
    show_change_link = True


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "referral_method", "has_agreement", "agency", "is_active"]
    list_filter = ["referral_method", "has_agreement", "is_active"]
    search_fields = ["code", "name"]
    inlines = [ServiceInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organisation",
        "sector",
        "nationwide",
        "answer_within_days",
        "is_active",
    ]
    list_filter = ["sector", "nationwide", "is_active"]
    search_fields = ["name", "organisation__name", "organisation__code"]
    filter_horizontal = ["locations"]
    list_select_related = ["organisation"]
