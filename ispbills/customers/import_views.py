"""Panel pages of the customer import: upload a file, map its columns and values, start a job.

The upload is stored under a random name; the mapping page finds it again through a signed
token (bound to the user, the operator and a day's lifetime), so no model is needed. Both
"Dry run" and "Import" start a JobRun and hand over to the job's progress page.
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.core.access import require
from ispbills.core.errors import DomainError
from ispbills.core.forms import ScopedForm
from ispbills.core.views import ServiceFormView
from ispbills.customers import imports
from ispbills.customers.models import Customer
from ispbills.tenancy.models import Operator

TOKEN_SALT = "ispbills.customers.import"
TOKEN_MAX_AGE = 24 * 3600
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAPPING_LIMIT_ROWS = 200_000


def make_token(*, upload: str, original_name: str, operator: Operator, user: Any) -> str:
    return signing.dumps(
        {"file": upload, "name": original_name, "operator": operator.pk, "user": user.pk},
        salt=TOKEN_SALT,
    )


class PendingUpload:
    """An uploaded file waiting for its mapping, as the signed token describes it."""

    def __init__(self, token: str, data: dict[str, Any], operator: Operator) -> None:
        self.token = token
        self.file: str = data["file"]
        self.name: str = data["name"]
        self.operator = operator
        self._sheet: imports.Sheet | None = None

    @property
    def sheet(self) -> imports.Sheet:
        if self._sheet is None:
            self._sheet = imports.read_sheet(imports.upload_path(self.file))
        return self._sheet

    @classmethod
    def load(cls, request: HttpRequest) -> "PendingUpload | None":
        """The upload named by ``?upload=`` (or the posted token), if it is the user's own."""
        token = request.POST.get("upload") or request.GET.get("upload") or ""
        try:
            data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        except signing.BadSignature:
            return None
        if not isinstance(data, dict) or data.get("user") != request.user.pk:
            return None
        operator = (
            Operator.objects.restrict(request.user, "view")
            .select_related("tenant")
            .filter(pk=data.get("operator"), is_active=True)
            .first()
        )
        try:
            path = imports.upload_path(str(data.get("file", "")))
        except DomainError:
            return None
        if operator is None or not path.exists():
            return None
        return cls(token, data, operator)


# ---- step 1: upload ---------------------------------------------------------------------------


class ImportUploadForm(ScopedForm):
    """The file to import and the operator its customers will belong to."""

    file = forms.FileField(
        label=gettext_lazy("File"),
        widget=forms.FileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
        help_text=gettext_lazy(
            "CSV or Excel (.xlsx). The first row names the columns; you map them next."
        ),
    )
    operator = forms.ModelChoiceField(
        queryset=Operator.objects.filter(is_active=True),
        label=gettext_lazy("Import under operator"),
        help_text=gettext_lazy("The operator (or reseller) the new customers belong to."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        operator_field: Any = self.fields["operator"]
        choices = list(operator_field.queryset[:2])
        if len(choices) == 1:
            operator_field.initial = choices[0].pk

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(imports.UPLOAD_SUFFIXES):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(n)s MB.") % {"n": MAX_UPLOAD_BYTES // 1024 // 1024}
            )
        return upload


class ImportUploadView(ServiceFormView):
    """Step 1: upload a CSV or Excel file and pick the operator to import under."""

    model = Customer
    action = "add"
    form_class = ImportUploadForm
    template_name = "customers/import_upload.html"
    title = gettext_lazy("Import customers")

    def form_valid(self, form: Any) -> HttpResponse:
        upload = form.cleaned_data["file"]
        operator = form.cleaned_data["operator"]
        stored = ""
        try:
            require(self.request.user, "customers.add", operator)
            stored = imports.save_upload(upload.chunks(), upload.name)
            sheet = imports.read_sheet(imports.upload_path(stored))
            if not sheet.rows:
                raise imports.ImportFileError(_("The file has a header row but no customers."))
            if len(sheet.rows) > MAPPING_LIMIT_ROWS:
                raise imports.ImportFileError(
                    _("Import at most %(n)s rows at a time; split the file.")
                    % {"n": f"{MAPPING_LIMIT_ROWS:,}"}
                )
        except DomainError as exc:
            if stored:
                imports.upload_path(stored).unlink(missing_ok=True)
            form.add_error("file", exc.message)
            return self.form_invalid(form)
        token = make_token(
            upload=stored, original_name=upload.name, operator=operator, user=self.request.user
        )
        return redirect(f"{reverse('customers:import_mapping')}?{urlencode({'upload': token})}")


# ---- step 2: mapping --------------------------------------------------------------------------


class ImportMappingForm(ScopedForm):
    """Column → field choices, a decision for every unknown package and zone, and the mode."""

    mode = forms.ChoiceField(
        label=gettext_lazy("When some rows are refused"),
        choices=imports.Mode.choices,
        initial=imports.Mode.ALL_OR_NOTHING,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    date_order = forms.ChoiceField(
        label=gettext_lazy("Dates written with slashes or dashes, like 05/02/2026"),
        choices=[
            ("dmy", gettext_lazy("Day first: 5 February 2026")),
            ("mdy", gettext_lazy("Month first: 2 May 2026")),
        ],
        initial="dmy",
    )

    def __init__(self, *args: Any, pending: PendingUpload, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending = pending
        sheet = pending.sheet
        suggestion = imports.suggest_mapping(sheet.headers)
        field_choices = [("", _("— ignore this column —"))] + [
            (name, str(label)) for name, label in imports.FIELDS.items()
        ]
        self.column_fields: list[tuple[str, list[str]]] = []
        samples = imports.column_samples(sheet, suggestion)
        for index, header in enumerate(sheet.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header, choices=field_choices, required=False, initial=suggestion[index]
            )
            self.column_fields.append((name, samples[index]))
        self.mapping = self._chosen_mapping(suggestion)
        self.catalogs = {
            "package": imports.usable_packages(self.user, pending.operator),
            "zone": imports.usable_zones(self.user, pending.operator),
        }
        self.value_fields: dict[str, list[tuple[str, imports.Unknown]]] = {}
        targets = {
            "package": [(str(p.pk), str(p)) for p in self.catalogs["package"].items.values()],
            "zone": [
                (str(z.pk), f"{z.name} ({z.parent.name})" if z.parent_id else z.name)
                for z in self.catalogs["zone"].items.values()
            ],
        }
        unknown = imports.unknown_values(sheet, self.mapping, self.catalogs)
        for kind, entries in unknown.items():
            self.value_fields[kind] = []
            for entry in entries:
                name = imports.value_field_name(kind, entry.key)
                suggested = self.catalogs[kind].suggest(entry.label)
                self.fields[name] = forms.ChoiceField(
                    label=entry.label,
                    choices=[
                        ("", _("— choose —")),
                        (imports.REFUSE, _("Refuse these rows")),
                        *targets[kind],
                    ],
                    initial=str(suggested.pk) if suggested is not None else "",
                    help_text=_("%(n)s rows") % {"n": entry.rows},
                )
                self.value_fields[kind].append((name, entry))

    def _chosen_mapping(self, suggestion: list[str]) -> list[str]:
        if not self.is_bound:
            return suggestion
        return [
            value if value in imports.FIELDS else ""
            for value in (self.data.get(f"col_{i}", "") for i in range(len(suggestion)))
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        mapping = [cleaned.get(name) or "" for name, _samples in self.column_fields]
        for field, problems in imports.check_mapping(mapping, len(mapping)).items():
            columns: list[str | None] = [
                f"col_{i}" for i, chosen in enumerate(mapping) if chosen == field
            ]
            for problem in problems:
                for column in columns or [None]:
                    self.add_error(column, problem)
        cleaned["mapping"] = mapping
        cleaned["value_map"] = {
            kind: {entry.key: cleaned[name] for name, entry in entries if cleaned.get(name)}
            for kind, entries in self.value_fields.items()
        }
        return cleaned

    def column_rows(self) -> list[tuple[Any, list[str]]]:
        return [(self[name], samples) for name, samples in self.column_fields]

    def value_rows(self, kind: str) -> list[tuple[Any, imports.Unknown]]:
        return [(self[name], entry) for name, entry in self.value_fields.get(kind, [])]

    @property
    def unknown_packages(self) -> list[tuple[Any, imports.Unknown]]:
        return self.value_rows("package")

    @property
    def unknown_zones(self) -> list[tuple[Any, imports.Unknown]]:
        return self.value_rows("zone")


class ImportMappingView(ServiceFormView):
    """Step 2: map columns and unknown values, choose the mode, then dry run or import."""

    model = Customer
    action = "add"
    form_class = ImportMappingForm
    template_name = "customers/import_mapping.html"
    title = gettext_lazy("Import customers: map the columns")
    pending: PendingUpload | None = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.pending = PendingUpload.load(request)
        if self.pending is None:
            return self.missing()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.pending = PendingUpload.load(request)
        if self.pending is None:
            return self.missing()
        return super().post(request, *args, **kwargs)

    def missing(self) -> HttpResponse:
        """No upload of this user to map (none given, expired, or already imported)."""
        return self.render_to_response(
            {"title": self.title, "missing": True, "upload_url": reverse("customers:import_upload")}
        )

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["pending"] = self.pending
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["pending"] = self.pending
        context["upload_url"] = reverse("customers:import_upload")
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        pending = self.pending
        assert pending is not None
        dry_run = self.request.POST.get("action") != "import"
        try:
            run = imports.start_import(
                actor=self.request.user,
                operator=pending.operator,
                upload=pending.file,
                original_name=pending.name,
                mapping=form.cleaned_data["mapping"],
                value_map=form.cleaned_data["value_map"],
                mode=form.cleaned_data["mode"],
                dry_run=dry_run,
                day_first=form.cleaned_data["date_order"] != "mdy",
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        return redirect("web:job_detail", pk=run.pk)
