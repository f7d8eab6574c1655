"""Seed the demo ISP (Dhaka Fibre Net) with a reseller tree and staff of every role."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ispbills.demo.seed import DemoRefusedError, generate_password, seed_demo
from ispbills.tenancy.models import Tenant


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="password for every demo login (else generated)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing unless the database has no ISP yet"
        )
        parser.add_argument("--print-logins", action="store_true", help="print the logins")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Tenant.objects.exists():
            if options["print_logins"]:
                self.stdout.write("Demo logins: as printed when the demo was first seeded.")
            return
        password = options["password"] or generate_password()
        try:
            logins = seed_demo(password=password)
        except DemoRefusedError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Demo logins (password for all: {password})")
        for login in logins:
            self.stdout.write(f"  {login.username:<12} {login.role:<22} {login.where}")
