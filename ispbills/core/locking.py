"""Row locks taken in one fixed order (by primary key) to keep transactions deadlock-free."""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def lock(model: type[M], ids: Iterable[Any]) -> dict[Any, M]:
    """``SELECT … FOR UPDATE`` the rows ordered by pk; returns them by pk."""
    rows = model._default_manager.select_for_update().filter(pk__in=list(ids)).order_by("pk")
    return {row.pk: row for row in rows}
