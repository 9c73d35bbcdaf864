"""The request type of every view and API operation that needs a signed-in user.

`login_required` (views) and the API's authentication (session or token, casework/api.py) let no
other request through, so `request.user` is a `User` there, not `AnonymousUser`: typing the
request says so once, instead of a cast or an ignore at every use.
"""

from __future__ import annotations

from django.http import HttpRequest

from casework.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
