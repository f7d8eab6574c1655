"""Seed the demo ISP (Dhaka Fibre Net) with a reseller tree, staff of every role and customers."""

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ispbills.core.errors import DomainError
from ispbills.demo.customers import DEMO_SERVICE_PASSWORD
from ispbills.demo.seed import (
    DEMO_CUSTOMERS,
    DemoRefusedError,
    add_demo_customers,
    demo_tenant,
    generate_password,
    seed_demo,
)
from ispbills.tenancy.models import Tenant


def logins_file() -> Path:
    """Where a local install keeps the demo logins so `ispbills run` can print them again."""
    return Path(settings.DATA_DIR) / "demo-logins.txt"


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="password for every demo login (else generated)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing unless the database has no ISP yet"
        )
        parser.add_argument("--print-logins", action="store_true", help="print the logins")
        parser.add_argument(
            "--customers",
            type=positive,
            metavar="N",
            help=f"seed N customers (default {DEMO_CUSTOMERS} with a new demo); when the demo "
            "exists, add N more. Large numbers rebuild the customer indexes once, locking the "
            "customer table while they load",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Tenant.objects.exists():
            if options["print_logins"] and logins_file().exists():
                self.stdout.write(logins_file().read_text())
            return
        count = options["customers"]
        if count and demo_tenant() is not None:
            self.add_customers(count)
            return
        password = options["password"] or generate_password()
        try:
            logins = seed_demo(password=password, customers=count or DEMO_CUSTOMERS)
        except DemoRefusedError as exc:
            raise CommandError(exc.message) from None
        lines = [f"Demo logins (password for all: {password})"]
        lines += [f"  {login.username:<12} {login.role:<22} {login.where}" for login in logins]
        lines.append(
            f"Demo customers (c0000001, …): PPPoE and hotspot password {DEMO_SERVICE_PASSWORD}"
        )
        text = "\n".join(lines) + "\n"
        self.stdout.write(text, ending="")
        if settings.EMBEDDED_DATABASE:
            path = logins_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
                out.write(text)

    def add_customers(self, count: int) -> None:
        started = time.perf_counter()
        try:
            added = add_demo_customers(count)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Added {added:,} customers to the demo ISP in {seconds:.1f} s "
            f"({added / max(seconds, 1e-9):,.0f} rows/s)."
        )
