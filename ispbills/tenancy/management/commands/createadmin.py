"""Create a platform super admin, or an ISP with its first group admin (--tenant)."""

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ispbills.core.errors import DomainError
from ispbills.tenancy import services
from ispbills.tenancy.roles import Role


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username")
        parser.add_argument("--email", default="")
        parser.add_argument("--mobile", default="")
        parser.add_argument("--password", help="prefer --password-stdin; this shows in ps")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        parser.add_argument("--tenant", help="create this ISP and make the user its group admin")
        parser.add_argument("--timezone", default="Asia/Dhaka")
        parser.add_argument("--currency", default="BDT")

    def _ask(self, label: str, secret: bool = False) -> str:
        if not sys.stdin.isatty():
            raise CommandError(f"--{label} is required when not running interactively")
        return (getpass.getpass if secret else input)(f"{label.capitalize()}: ").strip()

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"] or self._ask("username")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = options["password"] or self._ask("password", secret=True)
        try:
            if options["tenant"]:
                tenant = services.create_tenant(
                    actor=None,
                    name=options["tenant"],
                    timezone=options["timezone"],
                    currency=options["currency"],
                )
                services.create_staff_user(
                    actor=None,
                    operator=services.root_operator(tenant),
                    username=username,
                    password=password,
                    role=Role.GROUP_ADMIN,
                    email=options["email"],
                    mobile=options["mobile"],
                )
                self.stdout.write(f"Created ISP {tenant.name} and its group admin {username}.")
            else:
                services.create_superadmin(
                    username=username, password=password, email=options["email"]
                )
                self.stdout.write(f"Created platform super admin {username}.")
        except DomainError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
            raise CommandError(f"{exc.message}{' (' + details + ')' if details else ''}") from None
