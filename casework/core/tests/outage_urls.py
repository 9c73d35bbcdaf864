"""The project's URLs with outage.server_error as handler500 (as config/urls.py should name it):
a database fault raised in a middleware below OutageMiddleware reaches Django's handler500."""

from config.urls import urlpatterns

__all__ = ["handler500", "urlpatterns"]

handler500 = "casework.core.outage.server_error"
