"""``ispbills fake_gateways``: serve every fake payment provider for the demo, offline."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ispbills.payments.gateways.fakes import fake_class, fake_codes
from ispbills.payments.gateways.fakes.server import FakeServer


class Command(BaseCommand):
    help = (
        "Serve the fake payment providers (bKash, SSLCommerz, …) on 127.0.0.1, each under "
        "/<code>/, so the demo's payments can be clicked through without the internet."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=0, help="default: from the fake URL")

    def handle(self, *args: Any, **options: Any) -> None:
        from urllib.parse import urlsplit

        port = options["port"] or urlsplit(settings.FAKE_GATEWAYS_URL).port or 8010
        fakes = {}
        for code in fake_codes():
            fake = fake_class(code)()
            if hasattr(fake, "send_ipn"):
                fake.send_ipn = True  # the demo gets the IPNs a provider sends
            fakes[code] = fake
        server = FakeServer(fakes=fakes, port=port).start()
        self.stdout.write(f"Fake payment gateways at {server.url}/<code>/: {', '.join(fakes)}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.stop()
