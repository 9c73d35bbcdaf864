from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "casework.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Sign-in back-off: strikes on lock-out, forgotten on success.
        from casework.accounts import throttle  # noqa: F401
