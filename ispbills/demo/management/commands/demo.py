"""Seed the demo ISP (Dhaka Fibre Net) with a reseller tree and staff of every role."""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ispbills.demo.seed import DemoRefusedError, generate_password, seed_demo
from ispbills.tenancy.models import Tenant


def logins_file() -> Path:
    """Where a local install keeps the demo logins so `ispbills run` can print them again."""
    return Path(settings.DATA_DIR) / "demo-logins.txt"


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
            if options["print_logins"] and logins_file().exists():
                self.stdout.write(logins_file().read_text())
            return
        password = options["password"] or generate_password()
        try:
            logins = seed_demo(password=password)
        except DemoRefusedError as exc:
            raise CommandError(exc.message) from None
        lines = [f"Demo logins (password for all: {password})"]
        lines += [f"  {login.username:<12} {login.role:<22} {login.where}" for login in logins]
        text = "\n".join(lines) + "\n"
        self.stdout.write(text, ending="")
        if settings.EMBEDDED_DATABASE:
            path = logins_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
                out.write(text)
