"""Base forms whose every related-field choice is narrowed to what the user may see."""

from typing import Any

from django import forms

from ispbills.core.scoping import ScopedQuerySet


def narrow_choices(fields: dict[str, Any], user: Any) -> None:
    """Restrict each ModelChoiceField's queryset through ``restrict(user, "view")``."""
    for form_field in fields.values():
        queryset = getattr(form_field, "queryset", None)
        if isinstance(queryset, ScopedQuerySet):
            form_field.queryset = queryset.restrict(user, "view")


class ScopedForm(forms.Form):
    """A form that takes ``user`` and narrows every model choice to that user's reach;
    edit forms also get the ``instance`` being changed."""

    def __init__(self, *args: Any, user: Any, instance: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        narrow_choices(self.fields, user)


class ScopedModelForm(forms.ModelForm):
    """ModelForm counterpart of ScopedForm."""

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        narrow_choices(self.fields, user)
