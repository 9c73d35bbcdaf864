"""`casework token create|list|revoke`: API tokens, for an operator at the server.

Whoever runs this already holds the server (and its keys), so no second factor is asked; every
use is audited as made "by the command". The token is printed once, to standard output only.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts import services, tokens
from casework.accounts.models import Agency, ApiToken, Team, User
from casework.accounts.roles import Role
from casework.core.errors import CaseworkError, FieldErrors


class Command(BaseCommand):
    help = "Make, list and revoke API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        create = commands.add_parser("create", help="Make a token for USER and print it once.")
        create.add_argument("username")
        create.add_argument(
            "--scope",
            action="append",
            choices=ApiToken.Scope.values,
            required=True,
            help="read, write or export; repeat for several.",
        )
        create.add_argument(
            "--days", type=int, default=30, help=f"Days until it expires (1–{tokens.MAX_DAYS})."
        )
        create.add_argument("--name", default="made at the server")
        listing = commands.add_parser("list", help="The tokens of USER.")
        listing.add_argument("username")
        revoke = commands.add_parser("revoke", help="Revoke the token that starts with PREFIX.")
        revoke.add_argument("prefix", help="The 8 characters after cw_.")
        account = commands.add_parser(
            "service-account",
            help="Make a service account (any role, also one that sees personal data).",
        )
        account.add_argument("username")
        account.add_argument("--agency", required=True, help="The agency's code.")
        account.add_argument(
            "--role", required=True, choices=[r for r in Role.values if r != "none"]
        )
        account.add_argument("--team", default="", help="The team's name (caseworker, supervisor).")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["subcommand"]
        try:
            if command == "create":
                owner = self._user(options["username"])
                token = tokens.create_token(
                    owner=owner,
                    by=None,
                    name=options["name"],
                    scopes=options["scope"],
                    days=options["days"],
                )
                self.stdout.write(token)
            elif command == "list":
                owner = self._user(options["username"])
                for row in tokens.tokens_of(owner):
                    state = "live" if tokens.is_live(row) else row.revoke_reason or "not live"
                    self.stdout.write(
                        f"cw_{row.prefix}…  {row.scopes:<18} expires {row.expires_at:%Y-%m-%d}"
                        f"  {state}  {row.name}"
                    )
            elif command == "service-account":
                agency = Agency.objects.filter(code=options["agency"]).first()
                if agency is None:
                    raise CommandError(f"No agency with the code {options['agency']!r}.")
                team = None
                if options["team"]:
                    team = Team.objects.filter(agency=agency, name=options["team"]).first()
                    if team is None:
                        raise CommandError(f"No team {options['team']!r} in {agency.code}.")
                made = services.create_service_account(
                    by=None,
                    agency=agency,
                    username=options["username"],
                    role=options["role"],
                    team=team,
                )
                self.stdout.write(f"Service account {made.username} made; now: token create.")
            else:
                rows = list(ApiToken.objects.filter(prefix=options["prefix"], revoked_at=None))
                if len(rows) != 1:
                    raise CommandError("No single live token starts with that prefix.")
                tokens.revoke_token(rows[0], by=None)
                self.stdout.write("Revoked.")
        except FieldErrors as errors:
            raise CommandError(
                " ".join(str(m) for messages in errors.errors.values() for m in messages)
            ) from errors
        except CaseworkError as error:
            raise CommandError(str(error.message)) from error
