"""The FreeRADIUS SQL tables, column-compatible with the stock PostgreSQL schema of 3.2.

FreeRADIUS reads these tables directly (``rlm_sql`` with the ``postgresql`` dialect), so they
keep the stock table and column names; the Python field names are readable and map to the
stock columns with ``db_column``. They are not tenant-owned: the per-tenant view of users,
sessions and NAS records belongs to the apps that write here (see docs/radius.md).

Who writes what:

- ``radcheck``, ``radreply``, ``radgroupcheck``, ``radgroupreply``, ``radusergroup`` and ``nas``:
  this app only (``ispbills.radius.services``); FreeRADIUS only reads them.
- ``radacct``, ``nasreload`` and ``radpostauth``: FreeRADIUS writes them; the app reads them,
  closes stale sessions, and moves closed sessions into ``radacct_history`` (partitioned by
  month) once their usage is rolled up into ``radius_usage_daily``.

The app's own tables (``NasDevice``, ``UsageDaily``, ``Presence``, ``Disconnect`` and its
attempts) are ordinary Django models.

Primary keys are ``bigint`` where the stock schema says ``serial``: FreeRADIUS only selects the
``id`` column, and rows are rewritten often enough (bulk resyncs) to outgrow a 32-bit sequence.
"""

from typing import Any

from django.db import models
from django.db.models.functions import Now
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.fields import EncryptedTextField
from ispbills.core.models import TenantOwned


class InetField(models.TextField):
    """A PostgreSQL ``inet`` column holding an address or a prefix, read and written as text."""

    def db_type(self, connection: Any) -> str:
        return "inet"


class Op(models.TextChoices):
    """Check and reply operators of rlm_sql (man users(5))."""

    SET = ":=", ":="
    EQUAL = "==", "=="
    ADD = "=", "="
    APPEND = "+=", "+="
    NOT_EQUAL = "!=", "!="
    GREATER = ">", ">"
    GREATER_EQUAL = ">=", ">="
    LESS = "<", "<"
    LESS_EQUAL = "<=", "<="
    REGEX = "=~", "=~"
    NOT_REGEX = "!~", "!~"
    PRESENT = "=*", "=*"
    ABSENT = "!*", "!*"
    PREPEND = "^=", "^="


class AttributeRow(models.Model):
    """One check or reply item: ``attribute op value`` for a user or a group."""

    id = models.BigAutoField(primary_key=True)
    attribute = models.TextField(_("attribute"), default="", db_default="")
    value = models.TextField(_("value"), default="", db_default="")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        owner = getattr(self, "username", None) or getattr(self, "groupname", "")
        return f"{owner} {self.attribute} {getattr(self, 'op', '')} {self.value}"


class RadCheck(AttributeRow):
    """A per-user check item (password, MAC binding, Simultaneous-Use, Expiration, Auth-Type)."""

    username = models.TextField(_("username"), default="", db_default="")
    op = models.CharField(max_length=2, choices=Op.choices, default=Op.EQUAL, db_default="==")

    class Meta:
        db_table = "radcheck"
        ordering = ["id"]
        indexes = [models.Index(fields=["username", "attribute"], name="radcheck_username")]


class RadReply(AttributeRow):
    """A per-user reply attribute sent in Access-Accept (static IP, rate limit override)."""

    username = models.TextField(_("username"), default="", db_default="")
    op = models.CharField(max_length=2, choices=Op.choices, default=Op.ADD, db_default="=")

    class Meta:
        db_table = "radreply"
        ordering = ["id"]
        indexes = [models.Index(fields=["username", "attribute"], name="radreply_username")]


class RadGroupCheck(AttributeRow):
    """A check item shared by every member of a group (a package, the FUP state)."""

    groupname = models.TextField(_("group"), default="", db_default="")
    op = models.CharField(max_length=2, choices=Op.choices, default=Op.EQUAL, db_default="==")

    class Meta:
        db_table = "radgroupcheck"
        ordering = ["id"]
        indexes = [models.Index(fields=["groupname", "attribute"], name="radgroupcheck_groupname")]


class RadGroupReply(AttributeRow):
    """A reply attribute shared by every member of a group (rate limit, pool, interim)."""

    groupname = models.TextField(_("group"), default="", db_default="")
    op = models.CharField(max_length=2, choices=Op.choices, default=Op.ADD, db_default="=")

    class Meta:
        db_table = "radgroupreply"
        ordering = ["id"]
        indexes = [models.Index(fields=["groupname", "attribute"], name="radgroupreply_groupname")]


class RadUserGroup(models.Model):
    """A user's membership of a group; groups are processed by ascending priority."""

    id = models.BigAutoField(primary_key=True)
    username = models.TextField(_("username"), default="", db_default="")
    groupname = models.TextField(_("group"), default="", db_default="")
    priority = models.IntegerField(_("priority"), default=0, db_default=0)

    class Meta:
        db_table = "radusergroup"
        ordering = ["username", "priority", "id"]
        indexes = [models.Index(fields=["username"], name="radusergroup_username")]

    def __str__(self) -> str:
        return f"{self.username} → {self.groupname} ({self.priority})"


class SessionFields(models.Model):
    """The columns of an accounting session, live (``radacct``) or archived.

    Octet counters are 64-bit totals (the stock queries store Gigawords << 32 + Octets),
    cumulative since the session started. Input is what the subscriber uploaded.
    """

    id = models.BigAutoField(primary_key=True, db_column="radacctid")
    session_id = models.TextField(db_column="acctsessionid")
    unique_id = models.TextField(db_column="acctuniqueid")
    username = models.TextField(null=True, blank=True)
    realm = models.TextField(null=True, blank=True)
    nas_ip_address = models.GenericIPAddressField(db_column="nasipaddress")
    nas_port_id = models.TextField(db_column="nasportid", null=True, blank=True)
    nas_port_type = models.TextField(db_column="nasporttype", null=True, blank=True)
    start_time = models.DateTimeField(db_column="acctstarttime", null=True, blank=True)
    update_time = models.DateTimeField(db_column="acctupdatetime", null=True, blank=True)
    stop_time = models.DateTimeField(db_column="acctstoptime", null=True, blank=True)
    interval = models.BigIntegerField(db_column="acctinterval", null=True, blank=True)
    session_time = models.BigIntegerField(db_column="acctsessiontime", null=True, blank=True)
    authentic = models.TextField(db_column="acctauthentic", null=True, blank=True)
    connect_info_start = models.TextField(db_column="connectinfo_start", null=True, blank=True)
    connect_info_stop = models.TextField(db_column="connectinfo_stop", null=True, blank=True)
    input_octets = models.BigIntegerField(db_column="acctinputoctets", null=True, blank=True)
    output_octets = models.BigIntegerField(db_column="acctoutputoctets", null=True, blank=True)
    called_station_id = models.TextField(db_column="calledstationid", null=True, blank=True)
    calling_station_id = models.TextField(db_column="callingstationid", null=True, blank=True)
    terminate_cause = models.TextField(db_column="acctterminatecause", null=True, blank=True)
    service_type = models.TextField(db_column="servicetype", null=True, blank=True)
    framed_protocol = models.TextField(db_column="framedprotocol", null=True, blank=True)
    framed_ip_address = models.GenericIPAddressField(
        db_column="framedipaddress", null=True, blank=True
    )
    framed_ipv6_address = models.GenericIPAddressField(
        db_column="framedipv6address", null=True, blank=True
    )
    framed_ipv6_prefix = InetField(db_column="framedipv6prefix", null=True, blank=True)
    framed_interface_id = models.TextField(db_column="framedinterfaceid", null=True, blank=True)
    delegated_ipv6_prefix = InetField(db_column="delegatedipv6prefix", null=True, blank=True)
    class_attribute = models.TextField(db_column="class", null=True, blank=True)
    # Usage already rolled up into radius_usage_daily (64-bit totals, like the counters).
    counted_input = models.BigIntegerField(default=0, db_default=0)
    counted_output = models.BigIntegerField(default=0, db_default=0)
    # The acctupdatetime of the row when it was last rolled up: a differing one is pending.
    counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.username} @ {self.nas_ip_address} ({self.session_id})"

    @property
    def is_open(self) -> bool:
        return self.stop_time is None


class RadAcct(SessionFields):
    """A session inserted at Start and updated by Interim-Update and Stop; closed sessions
    stay here until the archive job moves them to ``radacct_history``."""

    class Meta:
        db_table = "radacct"
        ordering = ["-start_time", "-id"]
        # The stock queries upsert with ON CONFLICT (AcctUniqueId). A constraint rather than
        # unique=True: no extra text_pattern_ops index to maintain on every accounting write.
        constraints = [
            models.UniqueConstraint(fields=["unique_id"], name="radacct_acctuniqueid_key")
        ]
        indexes = [
            # Stock: update, stop and simul_verify queries find open sessions by unique id.
            models.Index(
                fields=["unique_id"],
                condition=models.Q(stop_time__isnull=True),
                name="radacct_active_session_idx",
            ),
            # Stock: Accounting-On/Off closes a NAS's open sessions.
            models.Index(
                fields=["nas_ip_address", "start_time"],
                condition=models.Q(stop_time__isnull=True),
                name="radacct_bulk_close",
            ),
            models.Index(fields=["start_time", "username"], name="radacct_start_user_idx"),
            models.Index(fields=["class_attribute"], name="radacct_class_idx"),
            # simul_count_query counts a user's open sessions at every Simultaneous-Use check.
            models.Index(
                fields=["username"],
                condition=models.Q(stop_time__isnull=True),
                name="radacct_active_user_idx",
            ),
        ]


class SessionHistory(SessionFields):
    """A closed session, archived; ``radacct_history`` is partitioned by month of its stop.

    The table and its partitions are made by SQL (migrations and the archive job), not by
    Django: Django cannot declare a partitioned table.
    """

    class Meta:
        managed = False
        db_table = "radacct_history"
        ordering = ["-stop_time", "-id"]


class NasReload(models.Model):
    """When a NAS last rebooted (Accounting-On/Off); older open sessions no longer count."""

    nas_ip_address = models.GenericIPAddressField(db_column="nasipaddress", primary_key=True)
    reload_time = models.DateTimeField(db_column="reloadtime")

    class Meta:
        db_table = "nasreload"

    def __str__(self) -> str:
        return f"{self.nas_ip_address} reloaded {self.reload_time:%Y-%m-%d %H:%M}"


class RadPostAuth(models.Model):
    """One authentication attempt and its outcome. The attempted password is never stored."""

    id = models.BigAutoField(primary_key=True)
    username = models.TextField()
    password = models.TextField(db_column="pass", null=True, blank=True)
    reply = models.TextField(null=True, blank=True)
    called_station_id = models.TextField(db_column="calledstationid", null=True, blank=True)
    calling_station_id = models.TextField(db_column="callingstationid", null=True, blank=True)
    authdate = models.DateTimeField(db_default=Now())
    class_attribute = models.TextField(db_column="class", null=True, blank=True)

    class Meta:
        db_table = "radpostauth"
        ordering = ["-authdate", "-id"]
        indexes = [
            models.Index(fields=["username"], name="radpostauth_username_idx"),
            models.Index(fields=["class_attribute"], name="radpostauth_class_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.reply} {self.authdate:%Y-%m-%d %H:%M:%S}"


class Nas(models.Model):
    """A RADIUS client (router) as FreeRADIUS loads it at start with ``read_clients = yes``."""

    id = models.BigAutoField(primary_key=True)
    nasname = models.TextField(_("address"), help_text=_("IP address or CIDR of the client"))
    shortname = models.TextField(_("short name"))
    type = models.TextField(_("type"), default="other", db_default="other")
    ports = models.IntegerField(_("ports"), null=True, blank=True)
    secret = models.TextField(_("secret"))
    server = models.TextField(_("virtual server"), null=True, blank=True)
    community = models.TextField(_("SNMP community"), null=True, blank=True)
    description = models.TextField(_("description"), null=True, blank=True)

    class Meta:
        db_table = "nas"
        ordering = ["nasname"]
        indexes = [models.Index(fields=["nasname"], name="nas_nasname")]

    def __str__(self) -> str:
        return f"{self.shortname} ({self.nasname})"


class NasDevice(TenantOwned):
    """A router of the ISP that sends RADIUS requests; mirrored into the ``nas`` table.

    The secret is encrypted here; FreeRADIUS needs it in clear in ``nas`` (see docs/radius.md
    for the database rights that keep that table to FreeRADIUS).
    """

    access_area = "network"

    class Kind(models.TextChoices):
        MIKROTIK = "mikrotik", _("MikroTik")
        CISCO = "cisco", _("Cisco")
        JUNIPER = "juniper", _("Juniper")
        HUAWEI = "huawei", _("Huawei")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=64)
    address = models.GenericIPAddressField(
        _("address"), help_text=_("The source address of its RADIUS requests")
    )
    secret = EncryptedTextField(_("shared secret"))
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.MIKROTIK)
    coa_port = models.PositiveIntegerField(
        _("CoA port"),
        default=3799,
        help_text=_("3799 is the standard port; MikroTik listens on 1700"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    client = models.OneToOneField(
        Nas, null=True, blank=True, on_delete=models.SET_NULL, related_name="device", editable=False
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # One FreeRADIUS serves every tenant: a source address names one client.
            models.UniqueConstraint(fields=["address"], name="nas_device_address"),
            models.UniqueConstraint(fields=["tenant", "name"], name="nas_device_name"),
            models.CheckConstraint(
                condition=models.Q(coa_port__gte=1, coa_port__lte=65535), name="nas_coa_port"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"

    def get_absolute_url(self) -> str:
        return reverse("radius:nasdevice_detail", args=[self.pk])


class UsageDaily(models.Model):
    """A customer's traffic on one day of the tenant's calendar, summed from counter deltas."""

    tenant_id = models.BigIntegerField(db_index=False)
    customer_id = models.BigIntegerField()
    day = models.DateField(_("day"))
    upload = models.BigIntegerField(_("upload (bytes)"), default=0)
    download = models.BigIntegerField(_("download (bytes)"), default=0)

    class Meta:
        db_table = "radius_usage_daily"
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["customer_id", "day"], name="usage_daily_customer_day")
        ]
        indexes = [models.Index(fields=["tenant_id", "day"], name="usage_daily_tenant_day")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day}: ↑{self.upload} ↓{self.download}"


class Presence(models.Model):
    """When a customer was last seen by accounting (maintained by the rollup job)."""

    customer_id = models.BigIntegerField(primary_key=True)
    tenant_id = models.BigIntegerField()
    last_seen_at = models.DateTimeField(_("last seen"))
    last_nas = models.GenericIPAddressField(_("last NAS"), null=True)
    last_address = models.GenericIPAddressField(_("last address"), null=True)

    class Meta:
        db_table = "radius_presence"

    def __str__(self) -> str:
        return f"{self.customer_id} seen {self.last_seen_at:%Y-%m-%d %H:%M}"


class Disconnect(TenantOwned):
    """A request to end (or re-rate) a customer's sessions, kept until verified.

    A disconnect is done only when accounting shows the sessions ended; a CoA when the NAS
    acknowledged it. Every packet sent is a ``DisconnectAttempt``.
    """

    access_area = "network"

    class Kind(models.TextChoices):
        DISCONNECT = "disconnect", _("Disconnect")
        COA = "coa", _("Change of authorization")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        UNRESOLVED = "unresolved", _("Unresolved")
        CANCELLED = "cancelled", _("Cancelled")

    customer_id = models.BigIntegerField(_("customer"))
    username = models.CharField(_("username"), max_length=64)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_try_at = models.DateTimeField(_("next try"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        "tenancy.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "-id"], name="disconnect_status"),
            models.Index(fields=["customer_id", "-id"], name="disconnect_customer"),
            models.Index(
                fields=["next_try_at"],
                condition=models.Q(status="pending"),
                name="disconnect_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.username} ({self.get_status_display()})"


class DisconnectAttempt(models.Model):
    """One Disconnect-Request or CoA-Request sent for a session, and what came back."""

    disconnect = models.ForeignKey(Disconnect, on_delete=models.CASCADE, related_name="packets")
    sent_at = models.DateTimeField(_("sent"), db_default=Now())
    nas_address = models.GenericIPAddressField(_("NAS"))
    session_id = models.CharField(_("session"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Disconnect.Kind.choices)
    result = models.CharField(_("result"), max_length=10)
    error_cause = models.CharField(_("error cause"), max_length=80, blank=True)
    rtt_ms = models.PositiveIntegerField(_("round trip (ms)"), null=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.session_id} @ {self.nas_address}: {self.result}"
