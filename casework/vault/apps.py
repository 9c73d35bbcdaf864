from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "casework.vault"
    label = "vault"
    verbose_name = "Encryption keys"

    def ready(self) -> None:
        from casework.vault import checks  # noqa: F401  (registers the system check)
