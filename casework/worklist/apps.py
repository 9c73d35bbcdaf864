from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "casework.worklist"
    label = "worklist"

    def ready(self) -> None:
        from casework.cases.panels import register_panel, register_team_line
        from casework.worklist import services
        from casework.worklist.panel import panel_context, team_line

        register_panel("tasks", "worklist/_panel.html", panel_context, order=10)
        register_team_line("tasks", "worklist/_team_line.html", team_line, order=30)
        services.subscribe()
