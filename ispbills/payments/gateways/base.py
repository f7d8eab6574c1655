"""The one small interface every payment gateway implements, and the values it speaks in.

An adapter knows its provider's wire protocol and nothing of our database: it gets plain
values (``PaymentRequest``, ``AttemptInfo``, ``CallbackRequest``) and answers with plain
values (``StartResult``, ``Callback``, ``Confirmation``, ``RefundResult``). The services
(``ispbills.payments.gateways.services``) own the attempt, its state machine, the comparisons
against what we stored, and the exactly-once crediting. So an adapter never decides that an
attempt is paid: it reports what the provider said, server to server.

Every outbound call goes through ``self.http`` (``GatewayHttp``): bounded timeouts, and each
exchange recorded with secrets redacted for disputes. State an adapter must share across
processes (bKash's token) lives in ``self.state`` (a ``StateStore``), stored encrypted on the
gateway account and updated under its row lock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from ispbills.payments.gateways.http import GatewayHttp


# -- errors -------------------------------------------------------------------------------


class GatewayError(Exception):
    """The provider refused or answered something we cannot use; nothing is known to have
    moved. ``code`` is the provider's error code when it gave one."""

    def __init__(self, message: str, *, code: str = "", data: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = dict(data or {})


class GatewayUnavailable(GatewayError):
    """The provider could not be reached (connection refused, DNS, TLS): the request was not
    delivered, so it is safe to say it failed."""


class GatewayTimeout(GatewayError):
    """The request may have been delivered but no answer came in time: the outcome is unknown
    and must be settled by a status query (never by repeating a mutating call)."""


class GatewayConfigError(GatewayError):
    """The gateway account's credentials or settings are missing or malformed."""


class RefundNotSupported(GatewayError):
    """This provider (or this adapter) has no refund API."""


# -- values -------------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    """What the provider said about a payment, server to server."""

    PAID = "paid"  # money moved: completed/captured/valid
    PENDING = "pending"  # started, not finished yet (the payer may still be on the page)
    FAILED = "failed"  # declined, expired, rejected: no money moved
    CANCELLED = "cancelled"  # the payer cancelled: no money moved
    UNKNOWN = "unknown"  # the provider's answer does not say (or did not come)


class CallbackStatus(enum.StrEnum):
    """What a callback *claims* (never proof): the hint that decides what to verify."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCEL = "cancel"
    UNKNOWN = "unknown"


class Signature(enum.StrEnum):
    """Whether a callback carried a signature and whether it checked out."""

    VALID = "valid"
    INVALID = "invalid"  # a forged or tampered callback: refused, audited
    ABSENT = "absent"  # the provider signs nothing (bKash redirect, Nagad): a hint only


@dataclass(frozen=True)
class CredentialField:
    """One setting of a gateway account. ``secret`` fields are encrypted at rest (all of a
    account's credentials are) and masked once saved; the others are shown back in full."""

    name: str
    label: str
    secret: bool = True
    required: bool = True
    help_text: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    default: str = ""
    multiline: bool = False  # PEM keys and the like


@dataclass(frozen=True)
class PaymentRequest:
    """What ``start()`` needs: our unique reference for this attempt and where to send the
    payer and the provider's notifications back to."""

    merchant_ref: str
    amount: Decimal
    currency: str
    description: str
    callback_url: str  # the browser comes back here (GET or POST; stateless, any result)
    ipn_url: str  # server-to-server notifications (where the provider has them)
    customer_name: str = ""
    customer_phone: str = ""
    customer_email: str = ""
    customer_address: str = ""
    language: str = "en"
    client_ip: str = ""
    # Our own payment page for this attempt (``/pay/gw/<code>/page/<signed token>/``), for
    # providers whose JavaScript runs on the merchant's page (``browser_page``).
    page_url: str = ""


@dataclass(frozen=True)
class StartResult:
    """How to send the payer to the provider: a redirect (``redirect_url``) or a form the
    payment page posts for them (``form_action`` + ``form_fields``, method ``form_method``)."""

    provider_ref: str = ""  # the provider's id for this attempt (bKash paymentID, sessionkey…)
    redirect_url: str = ""
    form_action: str = ""
    form_method: Literal["post", "get"] = "post"
    form_fields: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # what else to keep (not secrets)

    def __post_init__(self) -> None:
        if not self.redirect_url and not self.form_action:
            raise ValueError("A StartResult needs a redirect_url or a form_action.")


@dataclass(frozen=True)
class AttemptInfo:
    """A stored attempt as an adapter sees it (for verify, query and refund)."""

    merchant_ref: str
    amount: Decimal
    currency: str
    provider_ref: str = ""
    provider_txn_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # StartResult.data and later notes
    created_at: Any = None  # aware datetime


@dataclass(frozen=True)
class CallbackRequest:
    """An inbound request from the provider or the returning browser, as plain values."""

    kind: Literal["return", "ipn"]
    method: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    remote_addr: str = ""

    def param(self, name: str, default: str = "") -> str:
        """A field from the form body, else the query string."""
        return self.form.get(name) or self.query.get(name) or default


@dataclass(frozen=True)
class Callback:
    """What an adapter read from a callback: which attempt (``merchant_ref`` and/or
    ``provider_ref``), what it claims, and whether its signature holds."""

    status: CallbackStatus
    signature: Signature
    merchant_ref: str = ""
    provider_ref: str = ""
    provider_txn_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # For IPNs: what the provider expects back (status code, body); None = "200 OK".
    reply: tuple[int, str] | None = None
    # A provider housekeeping message (e.g. an SNS subscription confirmation) with no attempt.
    housekeeping: bool = False


@dataclass(frozen=True)
class Confirmation:
    """The provider's server-side answer about one attempt. ``amount``, ``currency`` and
    ``merchant_ref`` are copied from the *provider's* response (never from the callback): the
    service compares them with the stored attempt."""

    verdict: Verdict
    provider_txn_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    merchant_ref: str = ""
    provider_ref: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    """A refund the provider accepted (``completed``) or is still processing."""

    refund_id: str
    amount: Decimal
    completed: bool
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BrowserAction:
    """What a browser action led to (the provider's JavaScript on our payment page calling
    our backend): ``reply`` is the JSON the page gets (no secrets); ``provider_ref`` a session
    the action opened at the provider, stored on the attempt; ``callback`` a claim the service
    confirms and settles exactly as a browser return."""

    reply: dict[str, Any] = field(default_factory=dict)
    provider_ref: str = ""
    callback: Callback | None = None


# -- shared state (tokens) ------------------------------------------------------------------


class StateStore:
    """Provider state shared by every process (bKash's token): ``read()`` a snapshot;
    ``update(fn)`` runs ``fn(current) -> new | None`` with the state locked (so one process
    refreshes a token while the others wait and then reuse it) and stores what it returns."""

    def read(self) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, fn: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        raise NotImplementedError


class MemoryStateStore(StateStore):
    """A StateStore in memory, for an adapter used outside the database (unit tests)."""

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        import threading

        self._state: dict[str, Any] = dict(initial or {})
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        return dict(self._state)

    def update(self, fn: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        with self._lock:
            new = fn(dict(self._state))
            if new is not None:
                self._state = dict(new)
            return dict(self._state)


# -- the interface ------------------------------------------------------------------------


class PaymentGateway:
    """A provider adapter. Subclasses set the class attributes, implement ``start``,
    ``parse_callback``, ``verify`` and ``query`` (``refund`` and ``check`` where they can),
    and register with ``@register`` (``ispbills.payments.gateways``)."""

    code: ClassVar[str]  # "bkash", "sslcommerz": the registry key, stored on accounts
    name: ClassVar[str]  # shown to staff and payers
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    sandbox_url: ClassVar[str] = ""
    live_url: ClassVar[str] = ""
    currencies: ClassVar[tuple[str, ...]] = ("BDT",)
    min_amount: ClassVar[Decimal] = Decimal("1.00")
    max_amount: ClassVar[Decimal] = Decimal("500000.00")
    # Field names whose values are redacted wherever they appear in a stored exchange
    # (JSON keys, form fields, query parameters, headers), on top of GatewayHttp's defaults.
    redact_keys: ClassVar[frozenset[str]] = frozenset()
    # Details the public references leave unconfirmed, listed in docs/gateways.md.
    unconfirmed: ClassVar[tuple[str, ...]] = ()
    supports_refund: ClassVar[bool] = False
    # Timeouts in seconds: connect, and the whole answer (bKash asks for 30 s).
    connect_timeout: ClassVar[float] = 10.0
    read_timeout: ClassVar[float] = 30.0
    # Providers whose JavaScript runs on a page of ours (bKash Checkout iframe): the template
    # ``start()`` sends the payer to (``PaymentRequest.page_url``), and the names of the
    # actions its script posts to ``/pay/gw/<code>/action/<name>/``.
    browser_page: ClassVar[str] = ""
    browser_actions: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        sandbox: bool,
        http: GatewayHttp,
        state: StateStore | None = None,
        base_url: str = "",
    ) -> None:
        self.credentials = dict(credentials)
        self.sandbox = sandbox
        self.http = http
        self.state = state if state is not None else MemoryStateStore()
        # An explicit base (a fake on 127.0.0.1, a provider's new host) beats the defaults.
        self.base_url = (base_url or (self.sandbox_url if sandbox else self.live_url)).rstrip("/")
        for spec in self.credential_fields:
            if spec.required and not self.credentials.get(spec.name, spec.default):
                raise GatewayConfigError(f"{self.name}: the setting {spec.name!r} is missing.")
        self.http.add_secrets(
            value
            for spec in self.credential_fields
            if spec.secret and (value := self.credentials.get(spec.name, ""))
        )

    def cred(self, name: str) -> str:
        """A credential or setting, falling back to its declared default."""
        for spec in self.credential_fields:
            if spec.name == name:
                return self.credentials.get(name) or spec.default
        return self.credentials.get(name, "")

    # The flow -------------------------------------------------------------------------------

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        """``(merchant_ref, provider_ref)`` named by a callback, read without credentials
        (the attempt, and so the account whose credentials check the callback, is looked up
        with them). Either may be ""; both "" means the callback names no attempt."""
        raise NotImplementedError

    def start(self, request: PaymentRequest) -> StartResult:
        """Open a payment at the provider; return where to send the payer. Raise
        ``GatewayError`` (refused), ``GatewayUnavailable`` or ``GatewayTimeout``."""
        raise NotImplementedError

    def parse_callback(self, request: CallbackRequest) -> Callback:
        """Read a browser return or an IPN: which attempt, what it claims, whether its
        signature holds. No outbound call other than what checking the signature needs."""
        raise NotImplementedError

    def verify(self, attempt: AttemptInfo, callback: Callback) -> Confirmation:
        """Confirm with the provider after a callback (bKash: execute, then query on a
        timeout; SSLCommerz: the validation API). Called for every callback that passed the
        signature check, including duplicates, so it must be safe to repeat. Raise
        ``GatewayTimeout`` when the outcome is unknown."""
        return self.query(attempt)

    def query(self, attempt: AttemptInfo) -> Confirmation:
        """Ask the provider for the attempt's status (reconciliation, manual verify). Never
        moves money."""
        raise NotImplementedError

    def refund(self, attempt: AttemptInfo, amount: Decimal, reason: str) -> RefundResult:
        """Refund ``amount`` of a paid attempt, where the provider has an API for it."""
        raise RefundNotSupported(f"{self.name} refunds are made in the merchant panel.")

    def page_context(self, attempt: AttemptInfo) -> dict[str, Any]:
        """What ``browser_page`` needs besides the attempt (script addresses): no secrets."""
        return {}

    def browser_action(
        self, name: str, attempt: AttemptInfo, payload: Mapping[str, Any]
    ) -> BrowserAction:
        """Serve one of ``browser_actions`` for an open attempt. Raise ``GatewayError`` (and
        its kinds) as elsewhere; the service stores nothing but the exchanges then."""
        raise NotImplementedError

    def check(self) -> str:
        """Test the credentials with a harmless call (the panel's "test connection"); return
        a short message, or raise ``GatewayError``."""
        raise NotImplementedError


# -- amounts on the wire ----------------------------------------------------------------------


def format_amount(amount: Decimal) -> str:
    """A BDT amount as the Bangladeshi providers take it: a string with two decimals."""
    return f"{amount.quantize(Decimal('0.01')):f}"


def parse_amount(
    value: Any, error: type[Exception] = ValueError, *, thousands: bool = True
) -> Decimal | None:
    """An amount a provider answered (None when absent), to two decimals; ``error`` (a
    provider's own protocol error) when it is not a number. ``thousands``: the provider may
    write thousands separators ("1,000.00")."""
    if value in (None, ""):
        return None
    text = str(value).replace(",", "") if thousands else str(value)
    try:
        return Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise error(f"{value!r} is not an amount") from None
