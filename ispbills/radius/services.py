"""Writers of the FreeRADIUS check, reply, group and nas tables.

This app is the only writer of ``radcheck``, ``radreply``, ``radgroupcheck``,
``radgroupreply``, ``radusergroup`` and ``nas``; FreeRADIUS only reads them. Provisioning
customers into them (one idempotent service and a set-based bulk sync) lands here.
"""

from datetime import datetime


def expiration_value(when: datetime) -> str:
    """The value of an ``Expiration`` check item: seconds since the epoch.

    FreeRADIUS reads dates written as text ("26 Nov 2026 18:00:00") in its own process's
    time zone; a number of seconds means the same instant wherever it runs.
    """
    if when.tzinfo is None:
        raise ValueError("expiration_value() needs an aware datetime")
    return str(int(when.timestamp()))
