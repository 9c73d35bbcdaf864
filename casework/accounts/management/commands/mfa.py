"""`casework mfa issue-code USERNAME`: an enrolment code for two-factor sign-in, from the server.

For an administrator who cannot use the users screen (the first administrator of an agency, or
one whose own two-factor sign-in was reset). The code is printed once and audited; only its
digest is stored. Hand it over in person or by phone, never with the password.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from casework.accounts import services
from casework.accounts.models import User
from casework.core.errors import CaseworkError


class Command(BaseCommand):
    help = "Two-factor sign-in: issue an enrolment code."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        issue = commands.add_parser(
            "issue-code",
            help="Issue a single-use, time-limited enrolment code (voids the previous one).",
        )
        issue.add_argument("username", help="The account that will set up two-factor sign-in.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError("No such user.")
        try:
            issued = services.issue_enrolment_code(user, by=None)
        except CaseworkError as error:
            raise CommandError(str(error.message)) from error
        expires = timezone.localtime(issued.expires_at)
        self.stdout.write(f"Enrolment code for {user.username}: {issued.code}")
        self.stdout.write(
            f"It works once, until {expires:%Y-%m-%d %H:%M %Z}. Give it in person or by phone, "
            "never in the same message as the password."
        )
