"""Django's model backend, loading the user's agency and team with the user.

Every request reads `request.user.agency` and `.team` (the access gate, the menu, the MFA rule);
one joined query instead of three.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from casework.accounts.models import User


class AccountsBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.select_related("agency", "team").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
