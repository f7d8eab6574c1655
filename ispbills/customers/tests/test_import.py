"""Customer import: the messy 2,021-row export end to end on a real worker, CSV and Excel.

Counts come from reading /work/shared/data/customers-messy.csv row by row (row numbers as a
spreadsheet shows them, header = row 1). With the packages and zones below and the operator's
mapping (Home-10M and 10Mbps Home → Home 10 Mbps, Unknown Plan X → refused, Badda → Badda Link
Road), the file holds 1,202 good rows and 819 refused ones:

    Unknown Plan X (refused by the mapping)  254   invalid MAC (5 octets, ZZ)         151
    one digit short mobile                   111   invalid IPv4 (an octet of 300)      90
    two numbers in one mobile cell            89   31/02/2026                          75
    no mobile                                 57   invalid email (x@@y)                71
    username repeated in another case         41   whole row repeated                  20
    empty row (850)                            1

(a row may have several reasons). Three customers that exist already take three more good
rows: USER2 (row 4, user2, in another case), a mobile (row 3) and a deleted jannat8 (row 11):
1,199 rows import and 822 are refused.
"""

import csv
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, include, path

from config import urls as project_urls
from ispbills.catalog.services import save_package
from ispbills.core import exports, jobs
from ispbills.core.errors import NotAllowedError
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.customers import import_views, imports, services
from ispbills.customers.models import Customer

MESSY = Path("/work/shared/data/customers-messy.csv")
HEADERS = [
    "Username",
    "Password",
    "Name",
    "Mobile",
    "Email",
    "Zone",
    "Package",
    "Status",
    "Expiry",
    "MAC",
    "Static IP",
    "Balance",
    "NID",
    "Address",
]
GOOD, REFUSED = 1199, 822  # with the three existing customers below
UTC = dt.UTC

worker = pytest.mark.django_db(transaction=True)

# The panel pages under test, with the project's URLs (the customers namespace gains them).
IMPORT_URLS = [
    path("customers/import/", import_views.ImportUploadView.as_view(), name="import_upload"),
    path(
        "customers/import/mapping/",
        import_views.ImportMappingView.as_view(),
        name="import_mapping",
    ),
]
urlpatterns = [
    path("", include(([*entry.url_patterns, *IMPORT_URLS], "customers")))
    if isinstance(entry, URLResolver) and entry.namespace == "customers"
    else entry
    for entry in project_urls.urlpatterns
]
with_pages = pytest.mark.urls(__name__)


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def catalog(cast: Any) -> SimpleNamespace:
    """Acme's packages and zones (owned by the root, usable by every reseller below)."""

    def package(name: str, mbps: int) -> Any:
        return save_package(
            actor=None,
            operator=cast.acme_root,
            name=name,
            download_kbps=mbps * 1000,
            upload_kbps=mbps * 1000,
            price="500",
        )

    zones = {
        name: services.save_zone(actor=None, operator=cast.acme_root, name=name)
        for name in (
            "Mirpur-10",
            "Savar",
            "Dhanmondi",
            "Gazipur Sadar",
            "Uttara Sector 7",
            "Mohammadpur",
            "Badda Link Road",
        )
    }
    return SimpleNamespace(
        home10=package("Home 10 Mbps", 10),
        home20=package("Home 20 Mbps", 20),
        student=package("Student 5M", 5),
        business=package("Business 50 Mbps", 50),
        staff=package("Free Staff", 10),
        zones=zones,
    )


@pytest.fixture
def existing(cast: Any, catalog: SimpleNamespace) -> SimpleNamespace:
    """Customers of Acme South (outside bob's reach) that rows of the file clash with."""

    def register(username: str, mobile: str) -> Customer:
        return services.register_customer(
            actor=None,
            operator=cast.south,
            username=username,
            name=f"Existing {username}",
            mobile=mobile,
            service_password="secret-1",
            package=catalog.home10,
        )

    user2 = register("USER2", "01999000001")
    same_mobile = register("oldtimer", "01657491186")
    jannat8 = register("jannat8", "01999000002")
    services.delete_customer(actor=None, customer=jannat8)
    return SimpleNamespace(user2=user2, same_mobile=same_mobile, jannat8=jannat8)


def value_map(catalog: SimpleNamespace) -> imports.ValueMap:
    return {
        "package": {
            "home10m": str(catalog.home10.pk),
            "10mbpshome": str(catalog.home10.pk),
            "unknownplanx": imports.REFUSE,
        },
        "zone": {"badda": str(catalog.zones["Badda Link Road"].pk)},
    }


def stage(source: Path) -> str:
    """Store a file as the upload page does; returns the stored name."""
    return imports.save_upload([source.read_bytes()], source.name)


def import_file(
    cast: Any,
    user: Any,
    operator: Any,
    upload: str,
    mapping: imports.ValueMap,
    *,
    mode: str = imports.Mode.SKIP_BAD_ROWS,
    dry_run: bool = False,
) -> JobRun:
    """Start the import as the panel does and let a real worker run it."""
    run = imports.start_import(
        actor=cast.fresh(user),
        operator=operator,
        upload=upload,
        original_name="customers.csv",
        mapping=imports.suggest_mapping(HEADERS),
        value_map=mapping,
        mode=mode,
        dry_run=dry_run,
    )
    jobs.run_worker(queues=["imports"], wait=False)
    run.refresh_from_db()
    return run


def report(run: JobRun) -> list[dict[str, str]]:
    with exports.export_path(run.pk).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def refusals(run: JobRun) -> list[tuple[str, str]]:
    return [(line["row"], line["errors"]) for line in report(run) if line["result"] == "refused"]


def created_audit_rows() -> int:
    return AuditEvent.objects.filter(verb="customer.created").count()


# ---- reading and normalising (no database) --------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("21/11/2026", (dt.date(2026, 11, 21), None)),
        ("2026-10-16", (dt.date(2026, 10, 16), None)),
        ("14-Jan-2026", (dt.date(2026, 1, 14), None)),
        ("9-May-2027", (dt.date(2027, 5, 9), None)),
        ("2027-01-10 23:59:59", (dt.date(2027, 1, 10), dt.time(23, 59, 59))),
        ("২১/১১/২০২৬", (dt.date(2026, 11, 21), None)),
        # Excel cells hold naive date-times.
        (dt.datetime(2026, 3, 1), (dt.date(2026, 3, 1), None)),  # noqa: DTZ001
    ],
)
def test_reads_the_date_notations_of_older_panels(cell: Any, expected: Any) -> None:
    assert imports.parse_date(cell) == expected


@pytest.mark.parametrize("cell", ["31/02/2026", "2026-13-01", "next month", "46000"])
def test_refuses_dates_that_do_not_exist_or_cannot_be_read(cell: str) -> None:
    with pytest.raises(imports.CellError):
        imports.parse_date(cell)


def test_expiry_is_the_end_of_the_day_in_the_isps_zone_stored_as_utc() -> None:
    moment = imports.expiry_moment(dt.date(2026, 11, 21), None, "Asia/Dhaka")

    assert moment == dt.datetime(2026, 11, 21, 17, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("1,200.50", "1200.50"),
        ("৳250.75", "250.75"),
        ("500 Tk", "500.00"),
        ("৳-100", "-100.00"),
        ("1,00,000", "100000.00"),
        ("(100)", "-100.00"),
        ("১২০০", "1200.00"),
    ],
)
def test_reads_balances_with_separators_and_currency_signs(cell: str, amount: str) -> None:
    assert imports.parse_money(cell) == Decimal(amount)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("0157887838", "one digit short"),
        ("01712345678/01812345678", "more than one number"),
        ("01712345678", None),
        ("০১৬২৪৫৯৫৭১১", None),
    ],
)
def test_names_the_mobile_mistakes_operators_make(cell: str, problem: str | None) -> None:
    found = imports.mobile_problem(cell)

    assert (problem in found) if problem else found is None


def test_suggests_a_field_for_each_header_of_the_messy_file() -> None:
    assert imports.suggest_mapping(HEADERS) == [
        "username",
        "service_password",
        "name",
        "mobile",
        "email",
        "zone",
        "package",
        "status",
        "expires_at",
        "mac_address",
        "static_ipv4",
        "balance",
        "national_id",
        "address",
    ]


def test_reads_csv_with_a_bom_semicolons_or_windows_encoding() -> None:
    bom = imports.read_csv("\ufeffUsername;Name\nabc;মেহেদী\n".encode())
    windows = imports.read_csv("Username,Name\nabc,José\n".encode("cp1252"))

    assert (bom.headers, bom.rows, bom.encoding) == (
        ["Username", "Name"],
        [["abc", "মেহেদী"]],
        "utf-8-sig",
    )
    assert (windows.rows, windows.encoding) == ([["abc", "José"]], "cp1252")


# ---- the messy file on a real worker --------------------------------------------------------


@worker
def test_a_dry_run_writes_nothing_and_reports_what_the_import_then_refuses(
    cast: Any, catalog: SimpleNamespace, existing: SimpleNamespace
) -> None:
    customers_before, audit_before = Customer.objects.count(), created_audit_rows()
    upload = stage(MESSY)

    dry = import_file(cast, cast.alice, cast.north, upload, value_map(catalog), dry_run=True)

    assert dry.status == JobRun.Status.SUCCEEDED
    assert (dry.result["rows"], dry.result["valid"], dry.result["refused"]) == (2021, GOOD, REFUSED)
    assert dry.result["imported"] == 0
    assert (Customer.objects.count(), created_audit_rows()) == (customers_before, audit_before)
    assert dry.message.startswith(f"Dry run: {GOOD} rows are good, {REFUSED} refused")

    real = import_file(cast, cast.alice, cast.north, upload, value_map(catalog))

    assert real.status == JobRun.Status.SUCCEEDED
    assert (real.result["valid"], real.result["refused"], real.result["imported"]) == (
        GOOD,
        REFUSED,
        GOOD,
    )
    assert refusals(real) == refusals(dry)
    assert Customer.objects.count() == customers_before + GOOD


@worker
def test_skip_mode_imports_exactly_the_good_rows_normalised(
    cast: Any, catalog: SimpleNamespace, existing: SimpleNamespace
) -> None:
    run = import_file(cast, cast.alice, cast.north, stage(MESSY), value_map(catalog))

    imported = Customer.objects.filter(operator=cast.north)
    assert imported.count() == GOOD == run.result["imported"]
    by_name = {c.username: c for c in imported.select_related("package", "zone")}
    abdul = by_name["abdul0"]
    assert (abdul.name, abdul.mobile, abdul.mac_address) == (
        "Abdul Chowdhury",
        "+8801316613186",
        "CB:19:71:17:44:94",
    )
    assert (abdul.status, abdul.package, abdul.zone) == ("suspended", catalog.home10, None)
    assert abdul.expires_at == dt.datetime(2026, 11, 21, 17, 59, 59, tzinfo=UTC)
    assert abdul.service_password == "udnvb8tg"
    assert abdul.national_id == "1993518190937"
    # Bangla digits, spaces, dashes and 880 prefixes all become +8801…; Bangla names stay.
    assert (by_name["user75"].mobile, by_name["user75"].name) == ("+8801868077500", "ফাতেমা চৌধুরী")
    assert by_name["user48"].mobile == "+8801869364670"  # 018 6936 4670
    assert by_name["abdul486"].mobile == "+8801731513803"  # 01731-513803
    assert by_name["user28"].mobile == "+8801734492235"  # 8801734492235
    # MAC notations, statuses, zone spellings, the mapped and the matched packages.
    user23 = by_name["user23"]
    assert (user23.mac_address, user23.status, user23.zone.name) == (
        "11:71:4C:94:DD:D5",
        "disabled",  # inactive
        "Mirpur-10",
    )
    assert "user2" not in by_name  # USER2 exists in Acme South
    assert by_name["fatema30"].status == "suspended"  # expired
    assert by_name["user75"].zone.name == "Mirpur-10"  # Mirpur 10
    assert by_name["user75"].package == catalog.staff  # FREE-STAFF
    assert by_name["user28"].package == catalog.home10  # 10Mbps Home, mapped
    assert by_name["user45"].zone == catalog.zones["Badda Link Road"]  # Badda, mapped
    assert by_name["jannat29"].name == "Jannat Chowdhury"
    assert by_name["rahim54"].expires_at == dt.datetime(2027, 1, 10, 17, 59, 59, tzinfo=UTC)
    assert by_name["user28"].expires_at is None
    # Refused rows are not there; balances are never written.
    for refused in ("sumaiya3", "fatema4", "FATEMA4", "USER23", "user1", "jannat8", "rahim6"):
        assert refused not in by_name
    assert not imported.exclude(advance_balance=Decimal("0.00")).exists()
    assert run.result["balances"]["rows"] == 1110
    # One audit row each, by alice, without the password.
    audit = AuditEvent.objects.filter(verb="customer.created", operator=cast.north)
    assert audit.count() == GOOD
    assert set(audit.values_list("actor_label", flat=True)) == {"alice"}
    row = audit.get(object_id=str(abdul.pk))
    assert row.changes["service_password"] == ["•••", "•••"]
    assert row.changes["mobile"] == [None, "+8801316613186"]
    assert row.changes["import_run"] == [None, run.pk]


@worker
def test_all_or_nothing_writes_nothing_when_any_row_fails(
    cast: Any, catalog: SimpleNamespace, existing: SimpleNamespace
) -> None:
    customers_before, audit_before = Customer.objects.count(), created_audit_rows()

    run = import_file(
        cast,
        cast.alice,
        cast.north,
        stage(MESSY),
        value_map(catalog),
        mode=imports.Mode.ALL_OR_NOTHING,
    )

    assert run.status == JobRun.Status.SUCCEEDED
    assert (run.result["valid"], run.result["refused"], run.result["imported"]) == (
        GOOD,
        REFUSED,
        0,
    )
    assert (Customer.objects.count(), created_audit_rows()) == (customers_before, audit_before)
    assert run.message.startswith(f"Nothing imported: {REFUSED} rows were refused")
    results = [line["result"] for line in report(run)]
    assert results.count("not imported (all or nothing)") == GOOD
    assert results.count("refused") == REFUSED


@worker
def test_all_or_nothing_imports_every_row_of_a_clean_file(
    cast: Any, catalog: SimpleNamespace, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text(
        "Username;Password;Name;Mobile;Package;Expiry\n"
        "a1;pw-1;Karim;01711111111;Home 10 Mbps;01/02/2027\n"
        "a2;pw-2;সাব্বির;+880 1811-111111;home-20-mbps;2027-02-01\n",
        encoding="utf-8-sig",
    )
    mapping = ["username", "service_password", "name", "mobile", "package", "expires_at"]

    run = imports.start_import(
        actor=cast.fresh(cast.bob),
        operator=cast.north_point,
        upload=stage(clean),
        original_name="clean.csv",
        mapping=mapping,
        value_map={},
        mode=imports.Mode.ALL_OR_NOTHING,
        dry_run=False,
    )
    jobs.run_worker(queues=["imports"], wait=False)
    run.refresh_from_db()

    assert (run.status, run.result["imported"], run.result["refused"]) == ("succeeded", 2, 0)
    assert run.result["encoding"] == "utf-8-sig"
    assert sorted(
        Customer.objects.filter(operator=cast.north_point).values_list("username", "mobile")
    ) == [("a1", "+8801711111111"), ("a2", "+8801811111111")]


@worker
def test_static_addresses_outside_the_isps_static_pools_are_refused(
    cast: Any, catalog: SimpleNamespace, tmp_path: Path
) -> None:
    from ispbills.network.services import save_pool

    save_pool(
        actor=None,
        operator=cast.acme_root,
        name="static",
        cidr="103.9.0.0/24",
        purpose="static",
        exclusions=["103.9.0.200-103.9.0.210"],
    )
    save_pool(actor=None, operator=cast.acme_root, name="dyn", cidr="100.64.0.0/20")
    source = tmp_path / "static.csv"
    source.write_text(
        "Username;Password;Name;Mobile;Package;Static IP\n"
        "s1;pw-1;Karim;01711111111;Home 10 Mbps;103.9.0.10\n"
        "s2;pw-2;Rahim;01711111112;Home 10 Mbps;100.64.0.9\n"
        "s3;pw-3;Jamal;01711111113;Home 10 Mbps;103.9.0.205\n"
        "s4;pw-4;Kamal;01711111114;Home 10 Mbps;8.8.8.8\n",
        encoding="utf-8",
    )

    run = imports.start_import(
        actor=cast.fresh(cast.bob),
        operator=cast.north_point,
        upload=stage(source),
        original_name="static.csv",
        mapping=["username", "service_password", "name", "mobile", "package", "static_ipv4"],
        value_map={},
        mode=imports.Mode.SKIP_BAD_ROWS,
        dry_run=False,
    )
    jobs.run_worker(queues=["imports"], wait=False)
    run.refresh_from_db()

    assert (run.result["imported"], run.result["refused"]) == (1, 3)
    assert list(
        Customer.objects.filter(operator=cast.north_point).values_list("username", flat=True)
    ) == ["s1"]
    reasons = dict(refusals(run))
    assert "whose addresses the router hands out" in reasons["3"]
    assert "Excluded from pool static" in reasons["4"]
    assert "Not inside any of the static IP pools" in reasons["5"]


@worker
def test_a_username_repeated_in_another_case_is_refused_naming_both_rows(
    cast: Any, catalog: SimpleNamespace, existing: SimpleNamespace
) -> None:
    run = import_file(cast, cast.alice, cast.north, stage(MESSY), value_map(catalog))

    errors = dict(refusals(run))
    assert (
        "Username: USER23 is the username of row 26 (user23) in another case; "
        "usernames are not case-sensitive."
    ) in errors["34"]
    assert "Username: FATEMA4 is the username of row 6 (fatema4) in another case" in errors["9"]
    assert "row 6 (fatema4)" in errors["27"]
    assert "26" not in errors  # the first user23 is good and imported
    assert Customer.objects.filter(username__iexact="user23").get().username == "user23"
    # Case also counts against existing customers: user2 meets USER2 of Acme South.
    assert errors["4"] == (
        f"Username: Already used by customer USER2 · Existing USER2 (#{existing.user2.pk})."
    )


@worker
def test_the_report_lists_every_refused_row_with_its_reason(
    cast: Any, catalog: SimpleNamespace, existing: SimpleNamespace
) -> None:
    run = import_file(cast, cast.alice, cast.north, stage(MESSY), value_map(catalog), dry_run=True)

    lines = report(run)
    assert list(lines[0]) == ["row", *HEADERS, "result", "errors", "notes", "parsed balance"]
    assert [line["row"] for line in lines] == [str(n) for n in range(2, 2023)]
    refused = [line for line in lines if line["result"] == "refused"]
    assert len(refused) == REFUSED
    assert all(line["errors"] for line in refused)
    assert not any(line["errors"] for line in lines if line["result"] == "would be imported")

    def count(fragment: str) -> int:
        return sum(1 for line in refused if fragment in line["errors"])

    assert count("is one digit short of a mobile number") == 111
    assert count("holds more than one number") == 89
    assert count("Mobile: Required.") == 57
    assert count("is not a MAC address") == 151
    assert count("Static IPv4: Enter a valid IPv4 or IPv6 address.") == 90
    assert count("'31/02/2026' is not a real date.") == 75
    assert count("Email: Enter a valid email address.") == 71
    assert count("in another case; usernames are not case-sensitive") == 41
    assert count("'Unknown Plan X': rows with this value are refused by your mapping.") == 254
    assert count("(the whole row is repeated)") == 20
    assert count("Row: Empty row.") == 1
    assert count("Already used by") == 3

    by_row = {line["row"]: line for line in lines}
    assert by_row["850"]["errors"] == "Row: Empty row."
    assert by_row["295"]["errors"] == "Row: Same as row 10 (the whole row is repeated)."
    assert by_row["8"]["errors"] == (
        "Mobile: '0157887838' is one digit short of a mobile number (11 digits, 013 to 019).; "
        "Email: Enter a valid email address.; "
        "MAC address: '25:7B:DB:25:6C' is not a MAC address (12 hex digits); "
        "Package: 'Unknown Plan X': rows with this value are refused by your mapping."
    )
    assert by_row["3"]["errors"] == (
        f"Mobile: Already used by customer oldtimer · Existing oldtimer "
        f"(#{existing.same_mobile.pk})."
    )
    assert by_row["11"]["errors"] == (
        f"Username: Already used by customer jannat8 · Existing jannat8 "
        f"(#{existing.jannat8.pk}) (deleted; restore it instead)."
    )
    # The balance is kept in the report, never imported; passwords are not repeated.
    assert by_row["3"]["parsed balance"] == "1200.50"
    assert (
        "Balance 1200.50 not imported (opening balances come with the money module)."
        in (by_row["3"]["notes"])
    )
    assert "Status 'inactive' read as Disabled." in by_row["26"]["notes"]
    assert {line["Password"] for line in lines} == {""}
    assert by_row["2"]["Username"] == "abdul0"
    assert by_row["2"]["result"] == "would be imported"
    statuses = {(s["value"], s["as"]): s["rows"] for s in run.result["statuses"]}
    assert statuses[("expired", "suspended")] > 0
    assert statuses[("inactive", "disabled")] > 0


@worker
def test_unknown_package_and_zone_names_are_refused_until_mapped(
    cast: Any, catalog: SimpleNamespace
) -> None:
    run = import_file(cast, cast.alice, cast.north, stage(MESSY), {}, dry_run=True)

    assert run.result["unknown"] == {
        "package": ["10Mbps Home", "Home-10M", "Unknown Plan X"],
        "zone": ["Badda"],
    }
    errors = dict(refusals(run))
    assert "Package: 'Home-10M' matches no package; map it to one or refuse it." in errors["2"]
    assert "Zone: 'Badda' matches no zone; map it to one or refuse it." in errors["49"]


@worker
def test_an_xlsx_file_imports_the_same_way(
    cast: Any, catalog: SimpleNamespace, existing: SimpleNamespace, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("customers")
    with MESSY.open(encoding="utf-8", newline="") as handle:
        for number, cells in enumerate(csv.reader(handle), start=1):
            if number > 1:
                # Excel keeps mobiles as numbers (losing the 0) and dates as dates.
                if re.fullmatch(r"01\d{9}", cells[3]):
                    cells[3] = int(cells[3])  # type: ignore[call-overload]
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[8]):
                    cells[8] = dt.date.fromisoformat(cells[8])  # type: ignore[call-overload]
            sheet.append(cells)
    workbook = tmp_path / "customers.xlsx"
    book.save(workbook)
    csv_dry = import_file(
        cast, cast.alice, cast.north, stage(MESSY), value_map(catalog), dry_run=True
    )

    xlsx_dry = import_file(
        cast, cast.alice, cast.north, stage(workbook), value_map(catalog), dry_run=True
    )
    run = import_file(cast, cast.alice, cast.north, stage(workbook), value_map(catalog))

    assert xlsx_dry.result["format"] == "xlsx"
    assert refusals(xlsx_dry) == refusals(csv_dry)
    assert (run.result["imported"], run.result["refused"]) == (GOOD, REFUSED)
    abdul = Customer.objects.get(username="abdul0")
    assert (abdul.mobile, abdul.mac_address) == ("+8801316613186", "CB:19:71:17:44:94")
    rahim = Customer.objects.get(username="rahim288")  # expiry from a date cell
    assert rahim.expires_at == dt.datetime(2026, 9, 14, 17, 59, 59, tzinfo=UTC)


# ---- reach --------------------------------------------------------------------------------


@worker
def test_a_user_cannot_import_under_an_operator_outside_their_reach(
    cast: Any, catalog: SimpleNamespace
) -> None:
    upload = stage(MESSY)

    with pytest.raises(NotAllowedError):
        import_file(cast, cast.bob, cast.south, upload, value_map(catalog))
    # A job forged around the check refuses too, and is not retried.
    forged = [
        jobs.start_job_run(
            actor=None,
            kind="customer_import",
            label="forged",
            job=imports.import_customers_task,
            user_id=user.pk,
            acting_tenant_id=None,
            import_operator_id=operator.pk,
            upload=upload,
            mapping=imports.suggest_mapping(HEADERS),
            value_map=value_map(catalog),
            mode=imports.Mode.SKIP_BAD_ROWS,
            dry_run=False,
        )
        for user, operator in ((cast.bob, cast.south), (cast.mallory, cast.north))
    ]
    jobs.run_worker(queues=["imports"], wait=False)

    for run in forged:
        run.refresh_from_db()
        assert run.status == JobRun.Status.FAILED
        assert run.error == "NotAllowedError: This operator is outside your reach."
    assert Customer.objects.count() == 0
    assert created_audit_rows() == 0


@worker
def test_a_mapping_to_a_package_outside_the_operators_reach_is_refused(
    cast: Any, catalog: SimpleNamespace
) -> None:
    souths = save_package(
        actor=None,
        operator=cast.south,
        name="South Special",
        download_kbps=1000,
        upload_kbps=1000,
        price="100",
    )
    mapping = value_map(catalog)
    mapping["package"]["unknownplanx"] = str(souths.pk)

    run = import_file(cast, cast.bob, cast.north, stage(MESSY), mapping)

    assert run.status == JobRun.Status.FAILED
    assert "is not available to this operator" in run.error
    assert Customer.objects.count() == 0


@worker
def test_clashes_with_customers_out_of_reach_are_reported_without_naming_them(
    cast: Any, catalog: SimpleNamespace, existing: SimpleNamespace
) -> None:
    run = import_file(cast, cast.bob, cast.north, stage(MESSY), value_map(catalog), dry_run=True)

    errors = dict(refusals(run))
    assert errors["4"] == "Username: Already used by another customer of this ISP."
    assert errors["3"] == "Mobile: Already used by another customer of this ISP."
    assert (run.result["valid"], run.result["refused"]) == (GOOD, REFUSED)


# ---- panel ----------------------------------------------------------------------------------


def mapping_post(token: str, headers: list[str], **extra: str) -> dict[str, str]:
    data = {"upload": token, "mode": "skip", "date_order": "dmy", "action": "dry_run"}
    data.update({f"col_{i}": field for i, field in enumerate(imports.suggest_mapping(headers))})
    data.update(extra)
    return data


def value_fields(catalog: SimpleNamespace) -> dict[str, str]:
    return {
        imports.value_field_name(kind, key): choice
        for kind, choices in value_map(catalog).items()
        for key, choice in choices.items()
    }


@with_pages
@worker
def test_upload_map_and_dry_run_from_the_panel_then_download_the_report(
    cast: Any, catalog: SimpleNamespace
) -> None:
    client = client_as(cast.alice)
    upload_page = client.get("/customers/import/")
    assert upload_page.status_code == 200

    uploaded = client.post(
        "/customers/import/",
        {
            "file": SimpleUploadedFile("customers-messy.csv", MESSY.read_bytes()),
            "operator": cast.north.pk,
        },
    )
    assert uploaded.status_code == 302
    assert uploaded["Location"].startswith("/customers/import/mapping/?upload=")
    page = client.get(uploaded["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    for unknown in ("Unknown Plan X", "Home-10M", "10Mbps Home", "Badda"):
        assert unknown in text
    assert '<option value="username" selected>' in text
    assert 'name="mode" value="all"' in text
    assert 'name="action" value="dry_run"' in text
    assert 'name="action" value="import"' in text
    token = page.context["pending"].token

    started = client.post(
        "/customers/import/mapping/",
        mapping_post(token, HEADERS, **value_fields(catalog)),
    )
    run = JobRun.objects.get(kind="customer_import")
    assert started.status_code == 302
    assert started["Location"] == f"/jobs/{run.pk}/"
    assert run.label == "Dry run of the import of customers-messy.csv"
    jobs.run_worker(queues=["imports"], wait=False)
    detail = client.get(f"/jobs/{run.pk}/").content.decode()
    download = client.get(f"/jobs/{run.pk}/download/")

    assert "Dry run: 1202 rows are good, 819 refused" in detail
    assert f"/jobs/{run.pk}/download/" in detail
    lines = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 2022
    assert Customer.objects.count() == 0


@with_pages
@pytest.mark.django_db
def test_the_mapping_page_asks_for_every_unknown_value_before_starting(
    cast: Any, catalog: SimpleNamespace
) -> None:
    client = client_as(cast.alice)
    token = import_views.make_token(
        upload=stage(MESSY), original_name="m.csv", operator=cast.north, user=cast.alice
    )

    page = client.post("/customers/import/mapping/", mapping_post(token, HEADERS))

    assert page.status_code == 200
    assert page.context["form"].errors.keys() >= {
        imports.value_field_name("package", "unknownplanx"),
        imports.value_field_name("zone", "badda"),
    }
    assert not JobRun.objects.exists()


@with_pages
@pytest.mark.django_db
def test_the_upload_page_offers_only_operators_in_reach_and_tokens_are_personal(
    cast: Any, catalog: SimpleNamespace
) -> None:
    page = client_as(cast.bob).get("/customers/import/").content.decode()
    token = import_views.make_token(
        upload=stage(MESSY), original_name="m.csv", operator=cast.north, user=cast.alice
    )

    stolen = client_as(cast.bob).get(f"/customers/import/mapping/?upload={token}")
    refused = client_as(cast.bob).post(
        "/customers/import/",
        {"file": SimpleUploadedFile("c.csv", MESSY.read_bytes()), "operator": cast.south.pk},
    )

    assert "Acme North" in page
    assert "North Point" in page
    assert "Acme South" not in page
    assert stolen.status_code == 200
    assert stolen.context["missing"] is True
    assert refused.status_code == 200
    assert "operator" in refused.context["form"].errors
    assert client_as(cast.nina).get("/customers/import/").status_code == 403
