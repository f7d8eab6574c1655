"""Base FilterSet shared by panel and API: model choices narrowed to the user's reach."""

from typing import Any

import django_filters

from ispbills.core.scoping import ScopedQuerySet


class ScopedFilterSet(django_filters.FilterSet):
    """Every ModelChoice/ModelMultipleChoice filter offers only rows the user may see."""

    def __init__(self, data: Any = None, queryset: Any = None, *, request: Any = None,
                 user: Any = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(data, queryset, request=request, **kwargs)
        self.user = user if user is not None else getattr(request, "user", None)
        for filter_ in self.filters.values():
            choices = getattr(filter_, "queryset", None)
            if isinstance(choices, ScopedQuerySet):
                filter_.queryset = filter_.extra["queryset"] = choices.restrict(self.user, "view")
