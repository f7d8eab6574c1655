"""The FreeRADIUS SQL tables, column-compatible with the stock PostgreSQL schema of 3.2.

FreeRADIUS reads these tables directly (``rlm_sql`` with the ``postgresql`` dialect), so they
keep the stock table and column names; the Python field names are readable and map to the
stock columns with ``db_column``. They are not tenant-owned: the per-tenant view of users,
sessions and NAS records belongs to the apps that write here (see docs/radius.md).

Who writes what:

- ``radcheck``, ``radreply``, ``radgroupcheck``, ``radgroupreply``, ``radusergroup`` and ``nas``:
  this app only (``ispbills.radius.services``); FreeRADIUS only reads them.
- ``radacct``, ``nasreload`` and ``radpostauth``: FreeRADIUS writes them; the app reads them.

Primary keys are ``bigint`` where the stock schema says ``serial``: FreeRADIUS only selects the
``id`` column, and rows are rewritten often enough (bulk resyncs) to outgrow a 32-bit sequence.
"""

from typing import Any

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


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


class RadAcct(models.Model):
    """One accounting session, inserted at Start and updated by Interim-Update and Stop.

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

    def __str__(self) -> str:
        return f"{self.username} @ {self.nas_ip_address} ({self.session_id})"


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
