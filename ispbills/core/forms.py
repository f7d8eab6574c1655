"""Base forms whose every related-field choice is narrowed to what the user may see."""

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from ispbills.core.scoping import ScopedQuerySet


class FastSelect(forms.Select):
    """A select rendered in Python: Django renders one template per option, which costs
    milliseconds on every long choice list of every page."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = [
            format_html(
                '<option value="{}"{}>{}</option>',
                option["value"],
                " selected" if option["selected"] else "",
                option["label"],
            )
            for _group, group_options, _index in widget["optgroups"]
            for option in group_options
        ]
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            flatatt(widget["attrs"]),
            mark_safe("".join(options)),  # each option escaped by format_html above
        )


def narrow_choices(fields: dict[str, Any], user: Any) -> None:
    """Restrict each ModelChoiceField's queryset through ``restrict(user, "view")``."""
    for form_field in fields.values():
        queryset = getattr(form_field, "queryset", None)
        if isinstance(queryset, ScopedQuerySet):
            if type(form_field.widget) is forms.Select:
                form_field.widget = FastSelect(attrs=form_field.widget.attrs)
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
