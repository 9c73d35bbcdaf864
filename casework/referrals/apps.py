from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "casework.referrals"
    label = "referrals"
    verbose_name = _("Service directory and referrals")

    def ready(self) -> None:
        from casework.cases.panels import register_panel
        from casework.referrals import panel, services

        register_panel("referrals", "referrals/_panel.html", panel.context, order=40)
        services.subscribe()
