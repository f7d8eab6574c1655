"""API tokens: ``token create USERNAME [--name N]`` prints a new token once; ``token list``."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ispbills.core.errors import DomainError
from ispbills.tenancy import services
from ispbills.tenancy.auth import find_user
from ispbills.tenancy.models import ApiToken


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="command line")
        listing = sub.add_parser("list", help="list a user's tokens (never their values)")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke a token by id")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "revoke":
                token = ApiToken.objects.filter(pk=options["id"]).first()
                if token is None:
                    raise CommandError(f"No token with id {options['id']}.")
                services.revoke_api_token(actor=None, token=token)
                self.stdout.write(f"Revoked {token}.")
                return
            user = find_user(options["username"])
            if user is None:
                raise CommandError(f"No user {options['username']!r}.")
            if options["action"] == "list":
                for token in ApiToken.objects.filter(user=user):
                    state = "revoked" if token.revoked_at else "active"
                    self.stdout.write(f"{token.pk}\t{token.prefix}…\t{state}\t{token.name}")
                return
            _token, plain = services.create_api_token(actor=None, user=user, name=options["name"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(plain)
