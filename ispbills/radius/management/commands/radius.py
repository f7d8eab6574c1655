"""FreeRADIUS on this database.

``radius config --out DIR``  write a FreeRADIUS 3.2 configuration (run: freeradius -f -d DIR)
``radius serve``             run FreeRADIUS in the foreground from a fresh configuration
                             in <data dir>/radius
``radius sync [--tenant SLUG] [--after ID] [--batch N]``
                             provision every customer (and package) into the RADIUS tables,
                             one committed batch at a time; rerun with --after to resume
``radius check [--tenant SLUG] [--fix]``
                             report RADIUS rows that differ from what provisioning would
                             write, per username; --fix provisions the drifted ones
``radius settle``            close stale sessions, roll usage up and archive closed sessions
                             now (the periodic accounting job)
``radius disconnect USERNAME [--reason TEXT]``
                             end a customer's live sessions now, verified through
                             accounting; prints each packet's result
"""

import signal
import subprocess
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from ispbills.radius import accounting, disconnect, provisioning
from ispbills.radius.models import Disconnect, DisconnectAttempt
from ispbills.radius.server import (
    LOG_DESTINATIONS,
    RadiusConfigError,
    RadiusOptions,
    default_run_as,
    find_freeradius,
    missing_tables,
    radius_secret,
    write_config,
)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        config = sub.add_parser("config", help="write a FreeRADIUS configuration directory")
        config.add_argument("--out", required=True, type=Path, help="directory to write")
        serve = sub.add_parser("serve", help="run FreeRADIUS in the foreground")
        serve.add_argument(
            "--debug", action="store_true", help="FreeRADIUS debug output (freeradius -X)"
        )
        sync = sub.add_parser("sync", help="provision every customer into the RADIUS tables")
        sync.add_argument("--after", type=int, default=0, help="resume after this customer id")
        check = sub.add_parser("check", help="report drift between customers and RADIUS rows")
        check.add_argument("--fix", action="store_true", help="provision what drifted")
        sub.add_parser("settle", help="run the accounting job now")
        kick = sub.add_parser("disconnect", help="end a customer's live sessions now")
        kick.add_argument("username")
        kick.add_argument("--reason", default="disconnected from the command line")
        for command in (sync, check):
            command.add_argument("--tenant", help="only this ISP (its slug)")
            command.add_argument("--batch", type=int, default=5000, help="customers per batch")
        for command in (config, serve):
            command.add_argument("--auth-port", type=int, default=1812)
            command.add_argument("--acct-port", type=int, default=1813)
            command.add_argument(
                "--listen", default="127.0.0.1", help="address to listen on (* for all)"
            )
            command.add_argument(
                "--reject-delay",
                type=int,
                default=1,
                help="seconds before an Access-Reject is sent (0-5)",
            )
            command.add_argument(
                "--user",
                help="user FreeRADIUS switches to when started as root "
                "(default: freerad, or the owner of the embedded database)",
            )
        config.add_argument(
            "--log",
            choices=LOG_DESTINATIONS,
            default="files",
            help="where FreeRADIUS logs (files: DIR/log/radius.log)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "sync":
            self.sync_all(self.tenant_id(options["tenant"]), options["after"], options["batch"])
            return
        if options["action"] == "check":
            self.check_drift(
                self.tenant_id(options["tenant"]), options["batch"], fix=options["fix"]
            )
            return
        if options["action"] == "settle":
            done = accounting.settle()
            self.stdout.write(
                f"{done['stale_closed']} stale sessions closed, {done['counted']} sessions "
                f"counted, {done['archived']} archived."
            )
            return
        if options["action"] == "disconnect":
            self.disconnect(options["username"], options["reason"])
            return
        database = connection.settings_dict
        try:
            radius = RadiusOptions(
                secret=radius_secret(),
                auth_port=options["auth_port"],
                acct_port=options["acct_port"],
                listen=options["listen"],
                reject_delay=options["reject_delay"],
                run_as=options["user"] or default_run_as(database),
                log_destination=options.get("log") or "files",
            )
            if options["action"] == "config":
                out = write_config(options["out"], database, radius)
                self.stdout.write(f"Wrote {out}. Run: freeradius -f -d {out}")
                return
            self.serve(radius, debug=options["debug"])
        except RadiusConfigError as exc:
            raise CommandError(exc.message) from None

    def tenant_id(self, slug: str | None) -> int | None:
        if slug is None:
            return None
        from ispbills.tenancy.models import Tenant

        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No ISP with the slug {slug!r}.")
        return tenant.pk

    def disconnect(self, username: str, reason: str) -> None:
        """Request, send and report at once; verification continues in the worker."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM customers_customer WHERE username = %s AND status <> 'deleted' "
                "ORDER BY id LIMIT 1",
                [username],
            )
            row = cursor.fetchone()
        if row is None:
            raise CommandError(f"No customer has the username {username!r}.")
        if not disconnect.request_for_customers([row[0]], kind="disconnect", reason=reason):
            self.stdout.write(f"{username} has no open session.")
            return
        item = Disconnect.objects.filter(customer_id=row[0], kind="disconnect").latest("pk")
        disconnect.process(item.pk)
        for attempt in DisconnectAttempt.objects.filter(disconnect=item).order_by("pk"):
            cause = f" ({attempt.error_cause})" if attempt.error_cause else ""
            self.stdout.write(
                f"{attempt.nas_address} session {attempt.session_id}: {attempt.result}{cause}"
            )
        item.refresh_from_db()
        self.stdout.write(
            f"Disconnect #{item.pk}: {item.get_status_display()}; the worker verifies it "
            "through accounting and retries while sessions stay open."
        )

    def sync_all(self, tenant_id: int | None, after: int, batch: int) -> None:
        started = time.perf_counter()
        with transaction.atomic():
            rows = provisioning.provision_packages(provisioning.package_ids(tenant_id=tenant_id))
            rows += provisioning.provision_suspended_groups(
                provisioning.tenant_ids(tenant_id=tenant_id)
            )
        customers = 0
        for ids in provisioning.customer_batches(tenant_id=tenant_id, after=after, size=batch):
            with transaction.atomic():  # committed per batch: a rerun with --after resumes
                rows += provisioning.provision_customers(ids)
            customers += len(ids)
            self.stdout.write(f"{customers} customers, up to id {ids[-1]} (resume: --after)")
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Synced {customers} customers: {rows} rows in {seconds:.2f} s "
            f"({rows / seconds if seconds else 0:,.0f} rows/s)."
        )

    def check_drift(self, tenant_id: int | None, batch: int, *, fix: bool) -> None:
        found = provisioning.drift(tenant_id=tenant_id, batch=batch)
        for username, lines in sorted(found.users.items()):
            verdict = "extra" if username in found.orphans else found.verdict(username)
            self.stdout.write(f"{username}: {verdict}")
            for kind, line in lines:
                self.stdout.write(f"  {'+' if kind == 'missing' else '-'} {line}")
        for username in found.orphans:
            if username not in found.users:
                self.stdout.write(f"{username}: extra (no live customer has this username)")
        for groupname, lines in sorted(found.groups.items()):
            self.stdout.write(f"group {groupname}: different")
            for kind, line in lines:
                self.stdout.write(f"  {'+' if kind == 'missing' else '-'} {line}")
        users = len(set(found.users) | set(found.orphans))
        if not found:
            self.stdout.write("No drift.")
            return
        self.stdout.write(f"Drift: {users} usernames, {len(found.groups)} groups.")
        if fix:
            written = provisioning.repair(found)
            self.stdout.write(f"Fixed: {written} rows written.")
        else:
            raise CommandError("RADIUS rows drifted; run with --fix to repair.")

    def serve(self, radius: RadiusOptions, *, debug: bool) -> None:
        binary = find_freeradius()
        if binary is None:
            raise CommandError(
                "FreeRADIUS is not installed. On Debian or Ubuntu: "
                "apt-get install freeradius freeradius-postgresql freeradius-utils"
            )
        missing = missing_tables()
        if missing:
            raise CommandError(
                f"The database has no {', '.join(missing)} table: run `ispbills migrate` first."
            )
        out = write_config(Path(settings.DATA_DIR) / "radius", connection.settings_dict, radius)
        # FreeRADIUS opens its own connections; ours is not needed while it runs.
        connection.close()
        self.stdout.write(
            f"FreeRADIUS on {radius.listen} ports {radius.auth_port}/{radius.acct_port} "
            f"with {out}. Ctrl-C stops it."
        )
        self.stdout.flush()
        # -l stdout: the log on the terminal, start-up errors included.
        command = [binary, "-f", "-l", "stdout", *(["-X"] if debug else []), "-d", str(out)]
        process = subprocess.Popen(command)
        stopping = False

        def forward(signum: int, _frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            process.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        code = process.wait()
        # Asked to stop, FreeRADIUS exits with a code of its own (2 on SIGINT): not an error.
        if code != 0 and not stopping:
            raise CommandError(f"FreeRADIUS stopped with exit code {code}; see its output above.")
