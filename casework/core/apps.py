from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "casework.core"
    label = "core"

    def ready(self) -> None:
        # Failed sign-ins are counted by the per-account rate limit, wherever they happen.
        from casework.core import ratelimits  # noqa: F401
