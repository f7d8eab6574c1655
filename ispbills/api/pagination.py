"""Keyset (cursor) pagination on the primary key: constant cost at any depth of millions."""

from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    """Pages of ``limit`` rows (default 50, at most 500), newest first, by opaque cursor."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
