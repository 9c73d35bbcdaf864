from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "casework.vault"
    label = "vault"
    verbose_name = "Encryption keys"
