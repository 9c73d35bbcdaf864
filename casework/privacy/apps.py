from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "casework.privacy"
    label = "privacy"
    verbose_name = "Data protection"

    def ready(self) -> None:
        from casework.cases.panels import register_team_line
        from casework.privacy.selectors import team_line

        # A supervisor reviews the access packages about their team's clients.
        register_team_line("privacy", "privacy/_team_line.html", team_line, order=40)
