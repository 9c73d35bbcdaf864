from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "casework.plans"
    label = "plans"
    verbose_name = "Plans"

    def ready(self) -> None:
        from casework.cases.panels import register_panel
        from casework.plans import panel

        register_panel("plan", "plans/_panel.html", panel.context, order=30)
