"""Customer bulk import from CSV or Excel: read, map columns, normalise, dry run, write.

Reading and normalising are pure functions (``read_sheet``, ``suggest_mapping``,
``plan_import``). ``run_import`` adds the set-based checks against the database (one query
per kind of value, never one per row) and writes the good rows in batches with COPY inside one
transaction, so an import is never half-written. Every run, dry or real, writes a report with
one line per source row: the original cells, what happened, the reasons and notes.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first customer row 2.
"""

import codecs
import csv
import datetime as dt
import difflib
import hashlib
import io
import ipaddress
import json
import operator as ops
import re
import secrets
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import TextChoices
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise
from psycopg import sql

from ispbills.catalog.models import Package
from ispbills.core import audit, clock, events, exports, jobs
from ispbills.core.access import access_of, require
from ispbills.core.context import RequestInfo, current_request, request_info
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.fields import encrypt
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.money import MoneyError, to_money
from ispbills.core.phone import BANGLA_DIGITS
from ispbills.customers import services
from ispbills.customers.models import Customer, Zone
from ispbills.network.addresses import static_address_problems
from ispbills.radius.provisioning import provision_customers
from ispbills.tenancy.models import Operator

BATCH = 2000
LOOKUP_CHUNK = 5000
UPLOAD_DIR = "imports"
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx")
REFUSE = "refuse"
# Imports of one ISP run one at a time, so two files cannot both claim a free mobile or MAC.
LOCK_CLASS = 7301

BALANCE_NOTE = gettext_lazy("not imported (opening balances come with the money module)")


class Mode(TextChoices):
    ALL_OR_NOTHING = "all", gettext_lazy("All or nothing: import only if every row is good")
    SKIP_BAD_ROWS = "skip", gettext_lazy("Skip bad rows: import the good ones")


# Fields a column can feed, in the order the mapping page offers them.
ROW_LABEL = gettext_lazy("Row")
FIELDS: dict[str, StrOrPromise] = {
    "username": gettext_lazy("Username"),
    "service_password": gettext_lazy("Service password"),
    "name": gettext_lazy("Name"),
    "mobile": gettext_lazy("Mobile"),
    "email": gettext_lazy("Email"),
    "national_id": gettext_lazy("National ID"),
    "address": gettext_lazy("Address"),
    "house": gettext_lazy("House"),
    "road": gettext_lazy("Road"),
    "zone": gettext_lazy("Zone"),
    "package": gettext_lazy("Package"),
    "service_model": gettext_lazy("Service (PPPoE, hotspot, static)"),
    "status": gettext_lazy("Status"),
    "expires_at": gettext_lazy("Expiry date"),
    "mac_address": gettext_lazy("MAC address"),
    "static_ipv4": gettext_lazy("Static IPv4"),
    "static_ipv6": gettext_lazy("Static IPv6"),
    "sales_notes": gettext_lazy("Notes"),
    "balance": gettext_lazy("Balance (reported, not imported)"),
}
REQUIRED_COLUMNS = tuple(services.REQUIRED)

# Header spellings (compared lower-case, punctuation as spaces) and the field they suggest.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "username": (
        "username",
        "user name",
        "user",
        "user id",
        "userid",
        "login",
        "login id",
        "pppoe user",
        "pppoe username",
        "pppoe id",
        "account",
        "customer id",
        "client id",
        "ইউজারনেম",
        "ইউজার",
    ),
    "service_password": (
        "password",
        "pass",
        "passwd",
        "pppoe password",
        "pppoe pass",
        "service password",
        "secret",
        "পাসওয়ার্ড",
    ),
    "name": ("name", "full name", "customer name", "client name", "customer", "client", "নাম"),
    "mobile": (
        "mobile",
        "mobile no",
        "mobile number",
        "phone",
        "phone no",
        "phone number",
        "cell",
        "cell no",
        "contact",
        "contact no",
        "contact number",
        "মোবাইল",
        "মোবাইল নম্বর",
        "ফোন",
    ),
    "email": ("email", "e mail", "mail", "email address", "ইমেইল"),
    "national_id": (
        "nid",
        "nid no",
        "nid number",
        "national id",
        "national id no",
        "nid card",
        "এনআইডি",
        "জাতীয় পরিচয়পত্র",
    ),
    "address": ("address", "full address", "ঠিকানা"),
    "house": ("house", "house no", "holding", "holding no", "বাড়ি"),
    "road": ("road", "road no", "street", "রোড"),
    "zone": ("zone", "area", "location", "zone name", "area name", "জোন", "এলাকা"),
    "package": (
        "package",
        "package name",
        "plan",
        "plan name",
        "profile",
        "bandwidth",
        "প্যাকেজ",
    ),
    "service_model": ("service", "service type", "service model", "connection type", "type"),
    "status": ("status", "state", "account status", "স্ট্যাটাস", "অবস্থা"),
    "expires_at": (
        "expiry",
        "expiry date",
        "expires",
        "expire",
        "expire date",
        "expires at",
        "expiration",
        "expiration date",
        "valid till",
        "valid until",
        "validity",
        "মেয়াদ",
    ),
    "mac_address": ("mac", "mac address", "mac addr", "caller id", "ম্যাক"),
    "static_ipv4": ("static ip", "ip", "ip address", "ipv4", "static ipv4", "আইপি"),
    "static_ipv6": ("ipv6", "static ipv6", "ipv6 address"),
    "sales_notes": ("notes", "note", "remarks", "remark", "comment", "comments", "মন্তব্য"),
    "balance": (
        "balance",
        "advance",
        "advance balance",
        "opening balance",
        "due",
        "ব্যালেন্স",
    ),
}
_HEADER_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}

# Status words seen in older panels; anything else is refused rather than guessed.
STATUS_WORDS: dict[str, str] = {
    "": Customer.Status.ACTIVE,
    "active": Customer.Status.ACTIVE,
    "enabled": Customer.Status.ACTIVE,
    "enable": Customer.Status.ACTIVE,
    "on": Customer.Status.ACTIVE,
    "online": Customer.Status.ACTIVE,
    "running": Customer.Status.ACTIVE,
    "সক্রিয়": Customer.Status.ACTIVE,
    "suspended": Customer.Status.SUSPENDED,
    "suspend": Customer.Status.SUSPENDED,
    "expired": Customer.Status.SUSPENDED,
    "blocked": Customer.Status.SUSPENDED,
    "locked": Customer.Status.SUSPENDED,
    "disabled": Customer.Status.DISABLED,
    "disable": Customer.Status.DISABLED,
    "inactive": Customer.Status.DISABLED,
    "off": Customer.Status.DISABLED,
    "closed": Customer.Status.DISABLED,
    "নিষ্ক্রিয়": Customer.Status.DISABLED,
    "fup": Customer.Status.FUP,
}

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})" + _TIME + "$")
_D_MON_Y = re.compile(r"^(\d{1,2})[-/ .]([A-Za-z]{3,9})\.?[-/ .,]+(\d{4})$")
_MON_D_Y = re.compile(r"^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$")
_CURRENCY = re.compile(r"৳|টাকা|\btk\b\.?|\btaka\b|\bbdt\b|/-|tk\.?$|^tk", re.IGNORECASE)
_AMOUNT = re.compile(r"^-?(?:\d+|\d{1,3}(?:,\d{2,3})*,\d{3})(?:\.\d+)?$")
_NOT_KEY = re.compile(r"[^0-9a-z\u0980-\u09ff]+")
_NON_DIGITS = re.compile(r"\D+")
_PHONE_SPLIT = re.compile(r"[/,;|&]|\bor\b", re.IGNORECASE)
_TEXT_FIELDS = ("name", "address", "house", "road", "sales_notes")
_MAX_LENGTHS: dict[str, int | None] = {
    name: getattr(Customer._meta.get_field(name), "max_length", None)
    for name in (
        "username",
        "name",
        "mobile",
        "email",
        "national_id",
        "address",
        "house",
        "road",
        "mac_address",
    )
}


# ---- reading --------------------------------------------------------------------------------


@dataclass
class Sheet:
    """A file's header row and data rows as read, with row numbers a spreadsheet would show."""

    headers: list[str]
    rows: list[list[Any]]
    numbers: list[int]
    kind: str = "csv"
    encoding: str = ""


class ImportFileError(DomainError):
    """The uploaded file cannot be read as a table."""


def read_sheet(path: Path) -> Sheet:
    """Read a CSV (any common encoding and delimiter) or the first sheet of an .xlsx file."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK\x03\x04"):
        return read_xlsx(path)
    return read_csv(path.read_bytes())


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: BOMs first, then UTF-8, then Windows-1252, then Latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: first.count(delimiter) for delimiter in (",", ";", "\t", "|")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def read_csv(data: bytes) -> Sheet:
    """A CSV file's rows; the first non-empty row is the header."""
    text, encoding = decode(data)
    if "\x00" in text:
        raise ImportFileError(_("This file is not a CSV or an Excel (.xlsx) file."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(e)s") % {"e": exc}) from exc
    return _sheet(enumerate(records, start=1), "csv", encoding)


def read_xlsx(path: Path) -> Sheet:
    """The first worksheet of an .xlsx file, read in openpyxl's streaming mode."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise ImportFileError(_("The Excel file cannot be read: %(e)s") % {"e": exc}) from exc
    try:
        sheet = book.worksheets[0]
        rows = (
            (number, list(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        return _sheet(rows, "xlsx", "")
    finally:
        book.close()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet(records: Iterable[tuple[int, list[Any]]], kind: str, encoding: str) -> Sheet:
    headers: list[str] | None = None
    rows: list[list[Any]] = []
    numbers: list[int] = []
    for number, cells in records:
        if headers is None:
            if all(_blank(cell) for cell in cells):
                continue
            headers = [_cell_text(cell).strip() for cell in cells]
            while headers and not headers[-1]:
                headers.pop()
            headers = [
                header or _("Column %(n)s") % {"n": i} for i, header in enumerate(headers, 1)
            ]
            continue
        if len(cells) < len(headers):  # short rows: the missing cells are empty
            cells = [*cells, *([""] * (len(headers) - len(cells)))]
        rows.append(cells)
        numbers.append(number)
    if headers is None:
        raise ImportFileError(_("The file is empty: no header row was found."))
    while rows and all(_blank(cell) for cell in rows[-1]):  # trailing blank lines are no rows
        rows.pop()
        numbers.pop()
    return Sheet(headers=headers, rows=rows, numbers=numbers, kind=kind, encoding=encoding)


def _cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious .0, dates in ISO form."""
    if type(value) is str:  # CSV cells: the common case first
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# ---- mapping --------------------------------------------------------------------------------


def header_key(header: str) -> str:
    return " ".join(_NOT_KEY.sub(" ", header.lower()).split())


def suggest_mapping(headers: Sequence[str]) -> list[str]:
    """One field (or "" to ignore) per column, from the header spellings; each field once."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        suggestion = _HEADER_FIELD.get(header_key(header), "")
        if suggestion in taken:
            suggestion = ""
        taken.add(suggestion)
        mapping.append(suggestion)
    return mapping


def check_mapping(mapping: Sequence[str], width: int) -> dict[str, list[str]]:
    """Problems with a column mapping, by field (empty when it can be used)."""
    problems: dict[str, list[str]] = {}
    if len(mapping) != width:
        problems.setdefault("mapping", []).append(_("Map every column (or ignore it)."))
    counts = Counter(name for name in mapping if name)
    for name, count in counts.items():
        if name not in FIELDS:
            problems.setdefault("mapping", []).append(_("Unknown field %(f)s.") % {"f": name})
        elif count > 1:
            problems.setdefault(name, []).append(
                _("%(field)s is chosen for %(n)s columns; choose one.")
                % {"field": FIELDS[name], "n": count}
            )
    for name in REQUIRED_COLUMNS:
        if name not in counts:
            problems.setdefault(name, []).append(
                _("Choose the column that holds %(field)s.") % {"field": FIELDS[name]}
            )
    return problems


def name_key(value: Any) -> str:
    """How package and zone names are compared: case, spaces and punctuation ignored."""
    return _NOT_KEY.sub("", _cell_text(value).translate(BANGLA_DIGITS).lower())


def value_field_name(kind: str, key: str) -> str:
    """A form field name for a source value (stable, safe for any script)."""
    return f"{kind}_{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]}"


class Catalog:
    """Packages or zones an operator may use, found by name ignoring case and punctuation."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items: dict[int, Any] = {item.pk: item for item in items}
        self._by_key: dict[str, list[int]] = {}
        for item in self.items.values():
            self._by_key.setdefault(name_key(item.name), []).append(item.pk)
        self._found: dict[str, Any] = {}

    def find(self, raw: Any) -> Any | None:
        """The one item with this name; None when there is none or more than one."""
        text = _cell_text(raw)
        if text not in self._found:  # a file repeats a handful of names many times
            found = self._by_key.get(name_key(text), [])
            self._found[text] = self.items[found[0]] if len(found) == 1 else None
        return self._found[text]

    def get(self, pk: Any) -> Any | None:
        try:
            return self.items.get(int(pk))
        except (TypeError, ValueError):
            return None

    def suggest(self, raw: Any) -> Any | None:
        """A close name to offer first on the mapping page (the operator still decides)."""
        keys = [key for key, pks in self._by_key.items() if len(pks) == 1]
        close = difflib.get_close_matches(name_key(raw), keys, n=1, cutoff=0.75)
        return self.items[self._by_key[close[0]][0]] if close else None


@dataclass
class Unknown:
    """A source value (spelled one or more ways) that matches no package or zone."""

    key: str
    spellings: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def label(self) -> str:
        return " / ".join(self.spellings)


ValueMap = dict[str, dict[str, str]]  # {"package": {name_key: "<pk>" | "refuse"}, "zone": …}


def unknown_values(
    sheet: Sheet, mapping: Sequence[str], catalogs: dict[str, Catalog]
) -> dict[str, list[Unknown]]:
    """For the package and zone columns: the distinct values no catalog name matches."""
    found: dict[str, list[Unknown]] = {}
    for kind, catalog in catalogs.items():
        if kind not in mapping:
            found[kind] = []
            continue
        index = list(mapping).index(kind)
        entries: dict[str, Unknown] = {}
        for cells in sheet.rows:
            text = _cell_text(cells[index]).strip() if index < len(cells) else ""
            if not text or catalog.find(text) is not None:
                continue
            entry = entries.setdefault(name_key(text), Unknown(key=name_key(text)))
            entry.rows += 1
            if text not in entry.spellings:
                entry.spellings.append(text)
        found[kind] = sorted(entries.values(), key=lambda entry: entry.label.lower())
    return found


def column_samples(sheet: Sheet, mapping: Sequence[str], limit: int = 3) -> list[list[str]]:
    """A few distinct non-empty values of each column to help map it (passwords hidden)."""
    samples: list[list[str]] = [[] for _header in sheet.headers]
    for cells in sheet.rows[:200]:
        for index, cell in enumerate(cells[: len(samples)]):
            text = _cell_text(cell).strip()
            if text and text not in samples[index] and len(samples[index]) < limit:
                samples[index].append(text)
    for index, name in enumerate(mapping):
        if name == "service_password" and index < len(samples):
            samples[index] = ["•••"] * len(samples[index])
    return samples


# ---- normalising ----------------------------------------------------------------------------


class CellError(ValueError):
    """A cell value that cannot be read; the message says why."""


def parse_date(value: Any, *, day_first: bool = True) -> tuple[dt.date, dt.time | None]:
    """Dates as ISO, dd/mm/yyyy (or mm/dd/yyyy), dd-Mon-yyyy, Mon dd, yyyy, or Excel dates."""
    if isinstance(value, dt.datetime):
        return value.date(), (None if value.time() == dt.time() else value.time())
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, (int, float)):
        raise CellError(_("%(v)s is a number, not a date.") % {"v": _cell_text(value)})
    text = str(value).translate(BANGLA_DIGITS).strip()
    parts: tuple[int, int, int] | None = None
    clock_parts: tuple[str | None, ...] = (None, None, None)
    if match := _YMD.match(text):
        parts = (int(match[1]), int(match[2]), int(match[3]))
        clock_parts = (match[4], match[5], match[6])
    elif match := _DMY.match(text):
        first, second = int(match[1]), int(match[2])
        day, month = (first, second) if day_first else (second, first)
        parts = (int(match[3]), month, day)
        clock_parts = (match[4], match[5], match[6])
    elif (match := _D_MON_Y.match(text)) and match[2].lower() in MONTHS:
        parts = (int(match[3]), MONTHS[match[2].lower()], int(match[1]))
    elif (match := _MON_D_Y.match(text)) and match[1].lower() in MONTHS:
        parts = (int(match[3]), MONTHS[match[1].lower()], int(match[2]))
    if parts is None:
        raise CellError(
            _("%(v)r is not a date we can read (use dd/mm/yyyy, yyyy-mm-dd or dd-Mon-yyyy).")
            % {"v": text}
        )
    try:
        day_value = dt.date(*parts)
        moment = (
            dt.time(int(clock_parts[0]), int(clock_parts[1]), int(clock_parts[2] or 0))
            if clock_parts[0] is not None and clock_parts[1] is not None
            else None
        )
    except ValueError:
        raise CellError(_("%(v)r is not a real date.") % {"v": text}) from None
    if not 1990 <= day_value.year <= 2100:
        raise CellError(_("%(v)r is not a plausible expiry date.") % {"v": text})
    return day_value, moment


def expiry_moment(day: dt.date, moment: dt.time | None, tz_name: str) -> dt.datetime:
    """The end of that day (23:59:59, or the time given) in the ISP's zone, as UTC."""
    local = dt.datetime.combine(day, moment or dt.time(23, 59, 59), zoneinfo.ZoneInfo(tz_name))
    return local.astimezone(dt.UTC)


def parse_money(value: Any) -> Decimal:
    """'1,200.50', '৳250.75', '500 Tk', '(100)', '১২০০' → Decimal; refuses what is unclear."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return to_money(value)
    if isinstance(value, float):
        return to_money(repr(value))
    text = str(value).translate(BANGLA_DIGITS).strip()
    negative = text.startswith("(") and text.endswith(")")
    text = _CURRENCY.sub("", text.strip("()")).replace(" ", "").replace("\u00a0", "")
    if negative:
        text = "-" + text.lstrip("-")
    if not _AMOUNT.match(text):
        raise MoneyError(f"{value!r} is not an amount")
    return to_money(text.replace(",", ""))


def parse_status(value: Any) -> str:
    """A customer status from the words older panels use; CellError for anything else."""
    word = " ".join(_cell_text(value).lower().split())
    if word in STATUS_WORDS:
        return STATUS_WORDS[word]
    raise CellError(
        _("Unknown status %(v)r (use active, suspended or disabled).") % {"v": _cell_text(value)}
    )


def parse_service_model(value: Any) -> str:
    key = name_key(value)
    for choice in Customer.ServiceModel:
        if key in {choice.value, name_key(choice.label)}:
            return str(choice.value)
    if key in {"static", "staticip", "ip"}:
        return str(Customer.ServiceModel.STATIC)
    raise CellError(
        _("Unknown service %(v)r (use PPPoE, hotspot, static or other).") % {"v": _cell_text(value)}
    )


def _digits(value: str) -> str:
    return _NON_DIGITS.sub("", value.translate(BANGLA_DIGITS))


def mobile_problem(raw: str) -> str | None:
    """Say why a mobile cell is refused in the words an operator understands, if we can."""
    digits = _digits(raw)
    several = len(digits) >= 20 or (
        _PHONE_SPLIT.search(raw) is not None
        and sum(1 for part in _PHONE_SPLIT.split(raw) if _digits(part)) > 1
    )
    if several:
        return _("%(v)r holds more than one number; keep one per customer.") % {"v": raw}
    local = digits[2:] if digits.startswith("880") else digits
    if len(local) == 10 and local.startswith("01"):
        return _("%(v)r is one digit short of a mobile number (11 digits, 013 to 019).") % {
            "v": raw
        }
    return None


# ---- planning -------------------------------------------------------------------------------


@dataclass
class RowResult:
    """One source row: its number, its cells, the values it would create, and what is wrong."""

    number: int
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    balance: Decimal | None = None
    customer_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def error_text(self) -> str:
        return "; ".join(
            "{}: {}".format(FIELDS.get(key, ROW_LABEL), " ".join(messages))
            for key, messages in self.errors.items()
        )


@dataclass
class Plan:
    """Every row's outcome plus the source values that still need mapping."""

    headers: list[str]
    rows: list[RowResult]
    unknown: dict[str, dict[str, Unknown]]
    statuses: Counter[tuple[str, str]]

    @property
    def good(self) -> list[RowResult]:
        return [row for row in self.rows if row.ok]

    @property
    def refused(self) -> list[RowResult]:
        return [row for row in self.rows if not row.ok]


class _Claims:
    """First row that used each username, mobile, MAC or IP in the file."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[Any, tuple[int, str]]] = {
            "username": {},
            "mobile": {},
            "mac_address": {},
            "static_ipv4": {},
            "static_ipv6": {},
        }

    def check(self, row: RowResult) -> None:
        for key, seen in self.seen.items():
            value = row.values.get(key)
            if not value:
                continue
            index = value.lower() if key == "username" else value
            first = seen.get(index)
            if first is None:
                seen[index] = (row.number, value)
            elif key == "username" and first[1] != value:
                row.add(
                    key,
                    _(
                        "%(v)s is the username of row %(row)s (%(other)s) in another case; "
                        "usernames are not case-sensitive."
                    )
                    % {"v": value, "row": first[0], "other": first[1]},
                )
            else:
                row.add(key, _("%(v)s is also in row %(row)s.") % {"v": value, "row": first[0]})


def plan_import(
    sheet: Sheet,
    mapping: Sequence[str],
    *,
    packages: Catalog,
    zones: Catalog,
    value_map: ValueMap | None = None,
    tz_name: str = "Asia/Dhaka",
    day_first: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Plan:
    """Normalise and check every row without touching the database."""
    columns = {name: index for index, name in enumerate(mapping) if name}
    resolve = _Resolver({"package": packages, "zone": zones}, value_map or {})
    normalise = _Normaliser(resolve, tz_name, day_first)
    strip = str.strip
    plain_text = sheet.kind == "csv"  # every CSV cell is already a str
    column_items = list(columns.items())
    empty_row, repeated_row = _("Empty row."), _("Same as row %(row)s (the whole row is repeated).")
    statuses: Counter[tuple[str, str]] = Counter()
    claims = _Claims()
    whole_rows: dict[tuple[str, ...], int] = {}
    results: list[RowResult] = []
    total = len(sheet.rows)
    width = len(sheet.headers)
    for position, (number, cells) in enumerate(zip(sheet.numbers, sheet.rows, strict=True)):
        if progress is not None and position % BATCH == 0:
            progress(position, total)
        row = RowResult(number=number, cells=cells)
        results.append(row)
        if plain_text:
            texts = tuple(map(strip, cells))
        else:
            texts = tuple(_cell_text(cell).strip() for cell in cells)
        if not any(texts):
            row.add("row", empty_row)
            continue
        first = whole_rows.setdefault(texts, number)
        if first != number:
            row.add("row", repeated_row % {"row": first})
            continue
        if any(texts[width:]):
            row.add(
                "row",
                _("More cells than header columns (a comma in a value without quotes?)."),
            )
        raw = {name: cells[index] for name, index in column_items}
        normalise(row, raw)
        if "status" in columns and row.values.get("status"):
            statuses[(_cell_text(raw["status"]).strip(), row.values["status"])] += 1
        claims.check(row)
    if progress is not None:
        progress(total, total)
    return Plan(headers=sheet.headers, rows=results, unknown=resolve.unknown, statuses=statuses)


_PLAIN_FIELDS = (
    "username",
    "service_password",
    "name",
    "email",
    "national_id",
    "address",
    "house",
    "road",
    "mac_address",
    "static_ipv4",
    "static_ipv6",
    "sales_notes",
)


class _Normaliser:
    """Turns one row's cells into customer values and errors. Values that repeat down a file
    (status words, dates, package names) are read once; messages are translated once."""

    def __init__(self, resolve: "_Resolver", tz_name: str, day_first: bool) -> None:
        self.resolve = resolve
        self.tz_name = tz_name
        self.day_first = day_first
        self.labels = {str(status.value): str(status.label) for status in Customer.Status}
        self.balance_note = str(BALANCE_NOTE)
        self.balance_text = _("Balance %(v)s %(note)s.")
        self.statuses: dict[str, tuple[str, str, str]] = {}
        self.expiries: dict[Any, tuple[dt.datetime | None, str]] = {}

    def __call__(self, row: RowResult, raw: dict[str, Any]) -> None:
        errors = services._Errors()
        data = {name: _cell_text(raw[name]) for name in _PLAIN_FIELDS if name in raw}
        if "mobile" in raw:
            mobile = raw["mobile"]
            if isinstance(mobile, (int, float)) and not isinstance(mobile, bool):
                # Excel drops the leading zero of numbers typed into number cells.
                mobile = _cell_text(mobile)
                mobile = "0" + mobile if len(mobile) == 10 and mobile.startswith("1") else mobile
            mobile = _cell_text(mobile).strip()
            problem = mobile_problem(mobile) if mobile else None
            if problem:
                errors.add("mobile", problem)
            else:
                data["mobile"] = mobile
        if "national_id" in data:
            nid = data["national_id"].translate(BANGLA_DIGITS).strip()
            data["national_id"] = re.sub(r"[\s-]", "", nid) if _digits(nid) else nid
        values = services._clean_values(data, errors)
        if values.get("static_ipv6"):  # the database keeps the canonical form; compare in it
            values["static_ipv6"] = ipaddress.IPv6Address(values["static_ipv6"]).compressed
        for name in _TEXT_FIELDS:
            if values.get(name):
                values[name] = " ".join(values[name].split())
        for kind in ("package", "zone"):
            if kind in raw:
                values[kind] = self.resolve(kind, raw[kind], errors)
        if "status" in raw:
            status, error, note = self.status(raw["status"])
            if error:
                errors.add("status", error)
            else:
                values["status"] = status
            if note:
                row.notes.append(note)
        if not _blank(raw.get("expires_at")):
            expires, error = self.expiry(raw["expires_at"])
            if error:
                errors.add("expires_at", error)
            else:
                values["expires_at"] = expires
        package = values.get("package")
        if not _blank(raw.get("service_model")):
            try:
                values["service_model"] = parse_service_model(raw["service_model"])
            except CellError as exc:
                errors.add("service_model", str(exc))
        else:
            values["service_model"] = (
                package.service_model if package is not None else Customer.ServiceModel.PPPOE
            )
        if not _blank(raw.get("balance")):
            self.balance(row, raw["balance"])
        services.check_rules(values, errors)
        for name, limit in _MAX_LENGTHS.items():
            value = values.get(name)
            if limit and isinstance(value, str) and len(value) > limit:
                errors.add(name, _("Longer than %(n)s characters.") % {"n": limit})
        row.values = values
        row.errors.update(errors.fields)

    def status(self, raw: Any) -> tuple[str, str, str]:
        """(status, error, note) for a status cell."""
        source = _cell_text(raw).strip()
        if source not in self.statuses:
            try:
                status = parse_status(source)
            except CellError as exc:
                self.statuses[source] = ("", str(exc), "")
            else:
                label = self.labels[status]
                if not source:
                    note = _("No status given: %(s)s.") % {"s": label}
                elif source.lower() != status:
                    note = _("Status %(v)r read as %(s)s.") % {"v": source, "s": label}
                else:
                    note = ""
                self.statuses[source] = (status, "", note)
        return self.statuses[source]

    def expiry(self, raw: Any) -> tuple[dt.datetime | None, str]:
        """(moment, error) for an expiry cell."""
        if raw not in self.expiries:
            try:
                day, moment = parse_date(raw, day_first=self.day_first)
            except CellError as exc:
                self.expiries[raw] = (None, str(exc))
            else:
                self.expiries[raw] = (expiry_moment(day, moment, self.tz_name), "")
        return self.expiries[raw]

    def balance(self, row: RowResult, raw: Any) -> None:
        try:
            row.balance = parse_money(raw)
        except MoneyError:
            row.notes.append(
                _("Balance %(v)r could not be read; balances are %(note)s.")
                % {"v": _cell_text(raw), "note": self.balance_note}
            )
        else:
            if row.balance:
                row.notes.append(self.balance_text % {"v": row.balance, "note": self.balance_note})


class _Resolver:
    """The package or zone a cell names (the operator's mapping first), worked out once per
    spelling; counts the rows of every name that still needs mapping."""

    def __init__(self, catalogs: dict[str, Catalog], value_map: ValueMap) -> None:
        self.catalogs = catalogs
        self.value_map = value_map
        self.unknown: dict[str, dict[str, Unknown]] = {kind: {} for kind in catalogs}
        self._seen: dict[tuple[str, str], tuple[Any, str, str]] = {}

    def __call__(self, kind: str, raw: Any, errors: Any) -> Any:
        text = _cell_text(raw).strip()
        if not text:
            return None
        found = self._seen.get((kind, text))
        if found is None:
            found = self._seen[(kind, text)] = self._look_up(kind, text)
        item, error, unknown_key = found
        if error:
            errors.add(kind, error)
        if unknown_key:
            entry = self.unknown[kind].setdefault(unknown_key, Unknown(key=unknown_key))
            entry.rows += 1
            if text not in entry.spellings:
                entry.spellings.append(text)
        return item

    def _look_up(self, kind: str, text: str) -> tuple[Any, str, str]:
        key = name_key(text)
        choice = self.value_map.get(kind, {}).get(key)
        if choice == REFUSE:
            return (
                None,
                _("%(v)r: rows with this value are refused by your mapping.") % {"v": text},
                "",
            )
        if choice:
            item = self.catalogs[kind].get(choice)
            if item is None:
                return (
                    None,
                    _("The %(kind)s chosen for %(v)r is not available.")
                    % {
                        "kind": kind,
                        "v": text,
                    },
                    "",
                )
            return item, "", ""
        item = self.catalogs[kind].find(text)
        if item is not None:
            return item, "", ""
        message = _("%(v)r matches no %(kind)s; map it to one or refuse it.") % {
            "v": text,
            "kind": kind,
        }
        return None, message, key


# ---- the database side ------------------------------------------------------------------------


def usable_packages(actor: Any, operator: Operator) -> Catalog:
    """Active packages the actor may see that the operator may sell (its own or from above)."""
    queryset = Package.objects.filter(
        tenant_id=operator.tenant_id, operator_id__in=operator.ancestor_ids(), is_active=True
    )
    return Catalog(services._visible(actor, queryset).order_by("name"))


def usable_zones(actor: Any, operator: Operator) -> Catalog:
    """Zones the actor may see that the operator may use (its own or from above)."""
    queryset = Zone.objects.filter(
        tenant_id=operator.tenant_id, operator_id__in=operator.ancestor_ids()
    ).select_related("parent")
    return Catalog(services._visible(actor, queryset).order_by("name"))


def _chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# What an existing customer must not share with a new one: (matched value, condition).
_EXISTING = {
    "username": ("lower(username)", "lower(username) = ANY(%s)"),
    "mobile": ("mobile", "mobile = ANY(%s) AND status <> 'deleted'"),
    "mac_address": ("mac_address", "mac_address = ANY(%s) AND status <> 'deleted'"),
    "static_ipv4": ("host(static_ipv4)", "static_ipv4 = ANY(%s::inet[]) AND status <> 'deleted'"),
    "static_ipv6": ("host(static_ipv6)", "static_ipv6 = ANY(%s::inet[]) AND status <> 'deleted'"),
}


def check_existing(plan: Plan, *, actor: Any, tenant_id: int) -> None:
    """Refuse rows whose username, mobile, MAC or IP an existing customer holds (set-based)."""
    wanted: dict[str, dict[Any, list[RowResult]]] = {key: {} for key in _EXISTING}
    for row in plan.rows:
        for key, index in wanted.items():
            value = row.values.get(key)
            if value:
                index.setdefault(value.lower() if key == "username" else value, []).append(row)
    clashes: list[tuple[str, RowResult, dict[str, Any]]] = []
    with connection.cursor() as cursor:
        for key, index in wanted.items():
            if not index:
                continue
            # One query per kind with an array parameter; IN lists of 100,000 values are slow
            # to build and exceed the protocol's parameter limit.
            match, condition = _EXISTING[key]
            cursor.execute(
                f"SELECT {match}, id, username, name, status FROM {Customer._meta.db_table} "
                f"WHERE tenant_id = %s AND {condition}",
                [tenant_id, list(index)],
            )
            for value, pk, username, name, status in cursor.fetchall():
                clash = {"pk": pk, "username": username, "name": name, "status": status}
                for row in index.get(value, []):
                    clashes.append((key, row, clash))
    if not clashes:
        return
    ids = sorted({clash["pk"] for _key, _row, clash in clashes})
    visible: set[int] = set(ids) if actor is None else set()
    if actor is not None:
        for chunk in _chunks(ids):
            visible.update(
                Customer.objects.restrict(actor).filter(pk__in=chunk).values_list("pk", flat=True)
            )
    for key, row, clash in clashes:
        if clash["pk"] in visible:
            who = _("customer %(name)s (#%(id)s)") % {
                "name": f"{clash['username']} · {clash['name']}",
                "id": clash["pk"],
            }
        else:
            who = _("another customer of this ISP")
        deleted = clash["status"] == Customer.Status.DELETED
        note = _(" (deleted; restore it instead)") if deleted else ""
        row.add(key, _("Already used by %(who)s%(note)s.") % {"who": who, "note": note})


def check_static_addresses(plan: Plan, *, tenant_id: int) -> None:
    """Refuse static addresses outside the ISP's static pools (one query for the file)."""
    keys = ("static_ipv4", "static_ipv6")
    addresses = [row.values[key] for row in plan.rows for key in keys if row.values.get(key)]
    problems = static_address_problems(tenant_id, addresses)
    if not problems:
        return
    for row in plan.rows:
        for key in keys:
            value = row.values.get(key)
            if value and str(ipaddress.ip_address(value)) in problems:
                row.add(key, problems[str(ipaddress.ip_address(value))])


def copy_insert(model: Any, records: list[dict[str, Any]]) -> list[int]:
    """Insert rows with COPY, several times faster than INSERT at this size; returns the ids.

    Ids are drawn from the table's sequence first so other rows can point at them. Records
    give database-ready values by attribute name (``zone_id``); every other column gets the
    field's default, and auto_now columns the current time.
    """
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now = clock.now()
    defaults: dict[str, Any] = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_db_prep_save(f.get_default(), connection)
    row_of = ops.itemgetter(*[f.attname for f in fields])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(
            sql.Identifier(c) for c in [meta.pk.column, *[f.column for f in fields]]
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(records)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(statement) as copy:
            for pk, record in zip(ids, records, strict=True):
                copy.write_row((pk, *row_of({**defaults, **record})))
    return ids


def _audit_changes(values: dict[str, Any], run_id: int | None) -> str:
    """``{field: [None, value]}`` as register_customer logs it, secrets masked, as JSON."""
    changes: dict[str, Any] = {
        key: ["•••", "•••"]
        if key in services.SECRET_FIELDS
        else [None, value if type(value) is str else audit._plain(value)]
        for key, value in values.items()
        if value not in (None, "")
    }
    changes["import_run"] = [None, run_id]
    return json.dumps(changes, ensure_ascii=False)


def _write(
    rows: list[RowResult],
    *,
    actor: Any,
    operator: Operator,
    run_id: int | None,
    progress: Callable[[int, int], None],
) -> int:
    """Create the customers and their audit rows in batches; the caller holds the transaction."""
    now = clock.now()
    info = request_info()
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    actor_label = actor_obj.get_username() if actor_obj else "system"
    base = {
        "tenant_id": operator.tenant_id,
        "operator_id": operator.pk,
        "status": Customer.Status.ACTIVE,
        "status_changed_at": now,
    }
    written = 0
    for batch in _chunks(rows, BATCH):
        records = []
        for row in batch:
            record = {**base, **row.values}
            record["zone_id"] = getattr(record.pop("zone", None), "pk", None)
            record["package_id"] = getattr(record.pop("package", None), "pk", None)
            if record.get("service_password"):
                record["service_password"] = encrypt(record["service_password"])
            records.append(record)
        ids = copy_insert(Customer, records)
        audit_rows = []
        for row, pk in zip(batch, ids, strict=True):
            row.customer_id = pk
            audit_rows.append(
                {
                    "tenant_id": operator.tenant_id,
                    "operator_id": operator.pk,
                    "actor_id": getattr(actor_obj, "pk", None),
                    "actor_label": actor_label,
                    "verb": "customer.created",
                    "object_type": "customers.customer",
                    "object_id": str(pk),
                    "object_label": f"{row.values['username']} · {row.values['name']}"[:200],
                    "changes": _audit_changes(row.values, run_id),
                    "ip": info.ip,
                    "user_agent": info.user_agent[:300],
                    "at": now,
                }
            )
        copy_insert(AuditEvent, audit_rows)
        provision_customers(ids)  # RADIUS rows, same transaction
        # One event per batch: subscribers (RADIUS, notifications) work set-based too.
        events.emit("customers.imported", customer_ids=ids, import_run_id=run_id)
        written += len(batch)
        progress(written, len(rows))
    return written


# ---- report -----------------------------------------------------------------------------------


def report_path(run_id: int) -> Path:
    """Where a run's report goes: the run's export file, so the job page offers it."""
    return exports.export_path(run_id)


def write_report(path: Path, plan: Plan, mapping: Sequence[str], outcome_of_good: str) -> None:
    """One line per source row: its cells, what happened, why, notes, and the parsed balance."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = {index for index, name in enumerate(mapping) if name == "service_password"}
    width = len(plan.headers)
    refused = _("refused")
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [_("row"), *plan.headers, _("result"), _("errors"), _("notes"), _("parsed balance")]
        )
        for row in plan.rows:
            cells = [_cell_text(cell) for cell in row.cells[:width]]
            cells += [""] * (width - len(cells))
            for index in secret:  # passwords are not repeated in a file others may download
                cells[index] = ""
            writer.writerow(
                [
                    row.number,
                    *cells,
                    outcome_of_good if row.ok else refused,
                    row.error_text(),
                    " ".join(row.notes),
                    "" if row.balance is None else str(row.balance),
                ]
            )


# ---- the service ------------------------------------------------------------------------------


def upload_root() -> Path:
    return Path(settings.MEDIA_ROOT) / UPLOAD_DIR


def upload_path(name: str) -> Path:
    """The stored upload of that name; only plain names made by ``save_upload`` are accepted."""
    if not re.fullmatch(r"[0-9a-f]{32}\.(csv|txt|xlsx)", name):
        raise ImportFileError(_("This upload is not available any more; upload the file again."))
    return upload_root() / name


def save_upload(chunks: Iterable[bytes], original_name: str) -> str:
    """Store an uploaded file under a random name in MEDIA_ROOT/imports; returns the name."""
    suffix = Path(original_name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ImportFileError(_("Upload a .csv or .xlsx file."))
    name = secrets.token_hex(16) + suffix
    path = upload_root() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return name


def purge_uploads(*, older_than_hours: int = 24) -> int:
    """Remove uploads nobody imported in time (they hold passwords in plain text)."""
    cutoff = time.time() - older_than_hours * 3600
    removed = 0
    root = upload_root()
    if not root.exists():
        return 0
    for path in root.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class _Phases:
    """Maps the import's phases onto one progress bar: read, check, write.

    Inside the import's transaction an update on the job's own connection would stay
    invisible until commit, so there the bar is moved over a second, autocommit connection.
    """

    SHARES = {"read": (0, 5), "check": (5, 45), "write": (45, 98)}
    INTERVAL = 0.5

    def __init__(self, progress: jobs.Progress | None) -> None:
        self.progress = progress
        self._side: Any = None
        self._last = 0.0

    def report(self, phase: str, message: str) -> Callable[[int, int], None]:
        low, high = self.SHARES[phase]

        def update(done: int, total: int) -> None:
            if self.progress is None:
                return
            share = low + (high - low) * (done / total if total else 1)
            text = message % {"n": f"{done:,}", "t": f"{total:,}"}
            if not connection.in_atomic_block:
                self.progress.update(int(share * 10), 1000, text)
            elif time.monotonic() - self._last >= self.INTERVAL:
                self._last = time.monotonic()
                self._publish(min(99, int(share)), text)

        return update

    def _publish(self, percent: int, message: str) -> None:
        assert self.progress is not None
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        table = JobRun._meta.db_table
        with self._side.cursor() as cursor:
            # SKIP LOCKED: never wait on a run row the import's own transaction holds.
            cursor.execute(
                f"UPDATE {table} SET percent = %s, message = %s WHERE id IN "
                f"(SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                [percent, message[:300], self.progress.run_id],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def _resolve_upload(upload: str | Path) -> Path:
    return upload if isinstance(upload, Path) else upload_path(upload)


def run_import(
    *,
    actor: Any,
    operator: Operator,
    upload: str | Path,
    mapping: Sequence[str],
    value_map: ValueMap | None,
    mode: str,
    dry_run: bool,
    progress: jobs.Progress | None,
    day_first: bool = True,
) -> dict[str, Any]:
    """Check every row of an upload and, unless dry, create the good customers.

    All or nothing writes only when no row is refused; skip mode writes the good rows.
    Balances are never written (money services own them); the report keeps their values.
    """
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(phase: str) -> None:
        timings[phase] = round(time.monotonic() - started - sum(timings.values()), 2)

    require(actor, "customers.add", operator)
    if not operator.is_active:
        raise DomainError(_("This operator is disabled."))
    if mode not in Mode.values:
        raise DomainError(_("Choose all or nothing, or skip bad rows."))
    phases = _Phases(progress)
    phases.report("read", _("Reading the file"))(0, 1)
    path = _resolve_upload(upload)
    if not path.exists():
        raise ImportFileError(_("This upload is not available any more; upload the file again."))
    sheet = read_sheet(path)
    problems = check_mapping(mapping, len(sheet.headers))
    if problems:
        raise DomainError(_("The column mapping cannot be used."), fields=problems)
    lap("read")
    packages, zones = usable_packages(actor, operator), usable_zones(actor, operator)
    for kind, catalog in (("package", packages), ("zone", zones)):
        for choice in (value_map or {}).get(kind, {}).values():
            if choice != REFUSE and catalog.get(choice) is None:
                raise NotAllowedError(
                    _("A %(kind)s chosen in the mapping is not available to this operator.")
                    % {"kind": kind}
                )
    plan = plan_import(
        sheet,
        mapping,
        packages=packages,
        zones=zones,
        value_map=value_map,
        tz_name=operator.tenant.timezone,
        day_first=day_first,
        progress=phases.report("check", _("Checking row %(n)s of %(t)s")),
    )
    lap("check")
    written = 0
    try:
        with transaction.atomic():
            if not dry_run:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, operator.tenant_id]
                    )
            check_existing(plan, actor=actor, tenant_id=operator.tenant_id)
            check_static_addresses(plan, tenant_id=operator.tenant_id)
            lap("existing")
            good = plan.good
            may_write = mode == Mode.SKIP_BAD_ROWS or len(good) == len(plan.rows)
            if not dry_run and may_write and good:
                written = _write(
                    good,
                    actor=actor,
                    operator=operator,
                    run_id=progress.run_id if progress else None,
                    progress=phases.report("write", _("Writing customer %(n)s of %(t)s")),
                )
    finally:
        phases.close()
    lap("write")
    if dry_run:
        outcome = _("would be imported") if may_write else _("not imported (all or nothing)")
    else:
        outcome = _("imported") if may_write else _("not imported (all or nothing)")
    summary = _summary(plan, mode=mode, dry_run=dry_run, written=written, sheet=sheet)
    if progress is not None:
        write_report(report_path(progress.run_id), plan, mapping, outcome)
        summary["file"] = report_path(progress.run_id).name
    lap("report")
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["timings"] = timings
    if not dry_run and written and not isinstance(upload, Path):
        path.unlink(missing_ok=True)
    summary["message"] = _message(summary)
    return summary


def _summary(plan: Plan, *, mode: str, dry_run: bool, written: int, sheet: Sheet) -> dict[str, Any]:
    errors_by_field: Counter[str] = Counter()
    for row in plan.refused:
        errors_by_field.update(row.errors.keys())
    balances = [row.balance for row in plan.rows if row.balance]
    good = len(plan.good)
    return {
        "dry_run": dry_run,
        "mode": mode,
        "format": sheet.kind,
        "encoding": sheet.encoding,
        "rows": len(plan.rows),
        "valid": good,
        "refused": len(plan.rows) - good,
        "imported": written,
        "errors_by_field": dict(sorted(errors_by_field.items())),
        "unknown": {
            kind: sorted(entry.label for entry in values.values())
            for kind, values in plan.unknown.items()
        },
        "statuses": [
            {"value": source, "as": target, "rows": count}
            for (source, target), count in sorted(plan.statuses.items())
        ],
        "balances": {
            "rows": len(balances),
            "total": str(sum(balances, Decimal("0.00"))),
            "note": str(BALANCE_NOTE),
        },
    }


def _message(summary: dict[str, Any]) -> str:
    counts = {"good": summary["valid"], "bad": summary["refused"], "n": summary["imported"]}
    if summary["dry_run"]:
        text = _("Dry run: %(good)s rows are good, %(bad)s refused; nothing was written.") % counts
    elif summary["imported"]:
        text = _("%(n)s customers imported, %(bad)s rows refused.") % counts
    elif summary["refused"] and summary["mode"] == Mode.ALL_OR_NOTHING:
        text = (
            _("Nothing imported: %(bad)s rows were refused and you chose all or nothing.") % counts
        )
    else:
        text = _("Nothing imported: no row was good.")
    if summary["balances"]["rows"]:
        text += " " + _("Balances: %(note)s.") % {"note": summary["balances"]["note"]}
    if summary.get("file"):
        text += " " + _("The report lists every row with its reasons.")
    return text


def start_import(
    *,
    actor: Any,
    operator: Operator,
    upload: str,
    original_name: str,
    mapping: Sequence[str],
    value_map: ValueMap | None,
    mode: str,
    dry_run: bool,
    day_first: bool = True,
) -> JobRun:
    """Queue an import (or a dry run) of a stored upload; the job page shows its progress."""
    require(actor, "customers.add", operator)
    upload_path(upload)
    if mode not in Mode.values:
        raise DomainError(_("Choose all or nothing, or skip bad rows."))
    access = access_of(actor)
    info = request_info()
    label = (_("Dry run of the import of %(file)s") if dry_run else _("Import of %(file)s")) % {
        "file": original_name[:120]
    }
    return jobs.start_job_run(
        actor=actor,
        kind="customer_import",
        label=label,
        job=import_customers_task,
        tenant_id=operator.tenant_id,
        operator_id=operator.pk,
        result_permission="customers.add",
        user_id=access.user_id,
        acting_tenant_id=access.tenant_id,
        import_operator_id=operator.pk,
        upload=upload,
        mapping=list(mapping),
        value_map=value_map or {},
        mode=mode,
        dry_run=dry_run,
        day_first=day_first,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        client_ip=info.ip,
        user_agent=info.user_agent,
    )


@jobs.task(queue="imports")
def import_customers_task(
    run_id: int,
    user_id: int,
    acting_tenant_id: int | None,
    import_operator_id: int,
    upload: str,
    mapping: list[str],
    value_map: ValueMap,
    mode: str,
    dry_run: bool,
    day_first: bool = True,
    language: str = "en",
    client_ip: str | None = None,
    user_agent: str = "",
) -> None:
    """Run an import for the user who asked, within that user's reach."""
    from django.contrib.auth import get_user_model

    def body(progress: jobs.Progress) -> tuple[str, dict[str, Any]]:
        user: Any = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        operator = Operator.objects.select_related("tenant").filter(pk=import_operator_id).first()
        if user is None:
            raise NotAllowedError(_("You do not have permission to do this."))
        if operator is None:
            raise NotAllowedError(_("This operator is outside your reach."))
        user.selected_tenant_id = acting_tenant_id
        result = run_import(
            actor=user,
            operator=operator,
            upload=upload,
            mapping=mapping,
            value_map=value_map,
            mode=mode,
            dry_run=dry_run,
            progress=progress,
            day_first=day_first,
        )
        return result.pop("message"), result

    token = current_request.set(RequestInfo(ip=client_ip, user_agent=user_agent))
    try:
        with translation.override(language):
            jobs.run_tracked(run_id, body)
    except DomainError:
        return  # refused: the run is marked failed with the reason; retrying cannot help
    finally:
        current_request.reset(token)


@jobs.task(queue="maintenance")
def purge_import_uploads_task(timestamp: int) -> int:
    """Remove uploads older than a day that were never imported."""
    return purge_uploads(older_than_hours=24)
