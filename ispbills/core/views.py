"""Base panel views. An app view declares ``model`` (and table, filterset, form) and is
scoped by construction: querysets go through ``restrict(user, action)``, a missing
permission is a 403, another tenant's or subtree's object a 404, and every save re-checks
visibility inside the transaction.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView
from django_filters.views import FilterView
from django_stubs_ext import StrOrPromise
from django_tables2 import LazyPaginator, SingleTableMixin

from ispbills.core.access import Access, access_of
from ispbills.core.errors import DomainError
from ispbills.core.registry import ExportSpec


class ScopedViewMixin(View):
    """Scopes ``get_queryset()`` and enforces the model's area permission for ``action``."""

    model: Any = None
    queryset: QuerySet[Any] | None = None
    action = "view"
    request: HttpRequest

    def base_queryset(self) -> QuerySet[Any]:
        if self.queryset is not None:
            return self.queryset.all()
        return self.model._default_manager.all()

    def get_queryset(self) -> QuerySet[Any]:
        queryset: Any = self.base_queryset()
        return queryset.restrict(self.request.user, self.action)

    @classmethod
    def scoped_model(cls) -> Any:
        return cls.model or (cls.queryset.model if cls.queryset is not None else None)

    @classmethod
    def allows(cls, access: Access) -> bool:
        """Whether a user with this Access may open the page at all (else 403)."""
        model = cls.scoped_model()
        return model is None or access.can(model.permission(cls.action))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not self.allows(access_of(request.user)):
            raise PermissionDenied(_("You do not have permission to open this page."))
        return super().dispatch(request, *args, **kwargs)


class ObjectListView(ScopedViewMixin, SingleTableMixin, FilterView):
    """Filtered, sortable, paginated list; HTMX requests get just the table."""

    template_name = "web/object_list.html"
    partial_template_name = "web/partials/table.html"
    paginator_class = LazyPaginator
    table_pagination = {"per_page": 50}
    title: StrOrPromise = ""
    add_url_name = ""
    export: ExportSpec | None = None
    # Keyset pages (?after=<id>, newest first) cost the same at any depth of millions of rows;
    # a chosen sort falls back to numbered pages.
    keyset_pagination = False
    per_page = 50
    filterset_fields: list[str] = []  # a list without a filterset gets no automatic filters

    def keyset_active(self) -> bool:
        """Key pages unless the user sorts a table that can be sorted."""
        sorting = self.request.GET.get("sort") and self.table_class._meta.orderable
        return self.keyset_pagination and not sorting

    def get_table_data(self) -> Any:
        data = super().get_table_data()
        if not self.keyset_active():
            return data
        after = self.request.GET.get("after", "")
        if after.isascii() and after.isdigit():
            data = data.filter(pk__lt=int(after))
        rows = list(data.order_by("-pk")[: self.per_page + 1])
        self.next_cursor = rows[self.per_page - 1].pk if len(rows) > self.per_page else None
        return rows[: self.per_page]

    def get_table_pagination(self, table: Any) -> Any:
        if self.keyset_active():
            return False
        return super().get_table_pagination(table)

    def get_filterset_kwargs(self, filterset_class: Any) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["request"] = self.request
        return kwargs

    def get_template_names(self) -> list[str]:
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.boosted:
            return [self.partial_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        access = access_of(self.request.user)
        context["title"] = self.title or self.model._meta.verbose_name_plural.capitalize()
        if self.add_url_name and access.can(self.model.permission("add")):
            context["add_url"] = reverse(self.add_url_name)
        if self.export is not None and access.can(self.model.permission("export")):
            context["export_url"] = reverse("web:export_start", args=[self.export.name])
        if self.keyset_active():
            query = self.request.GET.copy()
            query.pop("after", None)
            context["next_cursor"] = getattr(self, "next_cursor", None)
            context["keyset_query"] = query.urlencode()
        return context


class ObjectDetailView(ScopedViewMixin, DetailView):
    """One object, found only inside the user's reach (else 404)."""


class ServiceFormView(ScopedViewMixin, FormView):
    """Create or change through a service, inside one transaction.

    Subclasses implement ``perform(form)`` (call the service, return the object). A
    DomainError becomes a form error and the transaction rolls back. After the service
    runs, the object must still be visible to the user with ``action``, else everything
    rolls back with a 403.
    """

    template_name = "web/object_form.html"
    action = "add"
    title: StrOrPromise = ""
    success_message: StrOrPromise = ""
    object: Any = None
    perform: Callable[[Any], Model]  # each subclass calls its service here

    form_kwargs: dict[str, Any] = {}

    def get_object(self) -> Any:
        """For edit views (a ``pk`` in the URL): the object to change, scoped with ``action``."""
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.object = None
        return super().dispatch(request, *args, **kwargs)

    def setup_object(self) -> None:
        if self.object is None:
            self.object = self.get_object()

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.setup_object()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.setup_object()
        return super().post(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        """A new object starts under the user's own operator."""
        initial = super().get_initial()
        if self.object is None:
            initial.setdefault("operator", access_of(self.request.user).operator_id)
        return initial

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        kwargs["instance"] = self.object
        kwargs.update(self.form_kwargs)
        return kwargs

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            with transaction.atomic():
                obj = self.perform(form)
                if obj is not None and not self.still_visible(obj):
                    raise PermissionDenied(_("That change would move this outside your reach."))
        except DomainError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            if not exc.fields or not any(field in form.fields for field in exc.fields):
                form.add_error(None, exc.message)
            return self.form_invalid(form)
        if self.success_message:
            messages.success(self.request, self.success_message % {"object": obj})
        return HttpResponseRedirect(self.get_success_url_for(obj))

    def still_visible(self, obj: Model) -> bool:
        """Re-check inside the transaction that the saved row is still in the user's reach."""
        queryset: Any = type(obj)._default_manager.filter(pk=obj.pk)
        return bool(queryset.restrict(self.request.user, "view").exists())

    def get_success_url_for(self, obj: Any) -> str:
        return str(obj.get_absolute_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["object"] = self.object
        return context


class ObjectActionView(ScopedViewMixin, TemplateView):
    """A confirmed POST action on one scoped object (enable, disable, delete, revoke…)."""

    template_name = "web/confirm.html"
    action = "change"
    title: StrOrPromise = ""
    question: StrOrPromise = ""
    button: StrOrPromise = ""
    button_class = "btn-primary"
    perform: Callable[[Any], None]  # each subclass calls its service here

    def get_object(self) -> Any:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        obj = self.get_object()
        context.update(
            object=obj,
            title=self.title,
            question=self.question % {"object": obj},
            button=self.button,
            button_class=self.button_class,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        try:
            with transaction.atomic():
                self.perform(obj)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Done."))
        return redirect(self.get_success_url(obj))

    def get_success_url(self, obj: Any) -> str:
        return str(obj.get_absolute_url())
