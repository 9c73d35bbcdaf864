from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "casework.assessments"
    label = "assessments"

    def ready(self) -> None:
        from casework.assessments.panel import panel_context
        from casework.cases.panels import register_panel

        register_panel("assessment", "assessments/_panel.html", panel_context, order=20)
