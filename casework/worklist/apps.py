from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "casework.worklist"
    label = "worklist"

    def ready(self) -> None:
        from casework.cases.panels import register_panel
        from casework.worklist.panel import panel_context

        register_panel("tasks", "worklist/_panel.html", panel_context, order=10)
