"""Operators' branding on bills: the logo (checked images only) and the VAT registration."""

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.core.testing.isolation import client_as
from ispbills.tenancy import services
from ispbills.tenancy.models import Operator, OperatorLogo

pytestmark = pytest.mark.django_db


def image(kind: str = "PNG", width: int = 120, height: int = 40) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, format=kind)
    return out.getvalue()


def test_only_png_or_jpeg_images_of_sensible_size_are_taken(cast: Any) -> None:
    bad = [
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"\x89PNG\r\n\x1a\n not really",
        image("GIF"),
        image("PNG", width=2500),
        b"\x89PNG" + b"0" * (512 * 1024),
    ]
    for data in bad:
        with pytest.raises(DomainError):
            services.set_operator_logo(actor=cast.alice, operator=cast.north, data=data)
    assert not OperatorLogo.objects.exists()

    services.set_operator_logo(actor=cast.alice, operator=cast.north, data=image("JPEG"))

    logo = OperatorLogo.objects.get(operator=cast.north)
    assert logo.content_type == "image/jpeg"
    assert AuditEvent.objects.filter(verb="operator.logo_set", actor=cast.alice).count() == 1


def test_the_nearest_operator_with_a_logo_or_number_brands_the_bill(cast: Any) -> None:
    services.set_operator_logo(actor=None, operator=cast.acme_root, data=image())
    services.update_operator(actor=None, operator=cast.north, vat_registration=" 123-456 ")

    logo, registration = services.branding_of(cast.north_point)
    south_logo, south_registration = services.branding_of(cast.south)

    assert (logo.operator_id, registration) == (cast.acme_root.pk, "123-456")
    assert (south_logo.operator_id, south_registration) == (cast.acme_root.pk, "")
    assert services.branding_of(cast.globex_east) == (None, "")


def test_staff_cannot_brand_their_own_operator_or_another_subtree(cast: Any) -> None:
    with pytest.raises(NotAllowedError):
        services.set_operator_logo(actor=cast.fresh(cast.bob), operator=cast.north, data=image())
    with pytest.raises(NotAllowedError):
        services.set_operator_logo(actor=cast.fresh(cast.bob), operator=cast.south, data=image())
    assert not OperatorLogo.objects.exists()


def test_the_edit_page_uploads_replaces_and_removes_the_logo(cast: Any) -> None:
    client = client_as(cast.alice)
    url = f"/operators/{cast.north.pk}/edit/"
    fields = {"name": "Acme North", "account_type": "debit", "credit_limit": "0"}

    form = client.get(url).content.decode()
    refused = client.post(
        url, {**fields, "logo": SimpleUploadedFile("x.png", b"nonsense", "image/png")}
    )
    saved = client.post(
        url,
        {
            **fields,
            "vat_registration": "000111222-0101",
            "logo": SimpleUploadedFile("logo.png", image(), "image/png"),
        },
    )

    assert 'enctype="multipart/form-data"' in form
    assert refused.status_code == 200
    assert "PNG or JPEG" in refused.content.decode()
    assert saved.status_code == 302
    north = Operator.objects.get(pk=cast.north.pk)
    assert north.vat_registration == "000111222-0101"
    shown = client.get(f"/operators/{north.pk}/logo/")
    assert (shown.status_code, shown["Content-Type"]) == (200, "image/png")
    assert client_as(cast.mallory).get(f"/operators/{north.pk}/logo/").status_code == 404
    assert client_as(cast.sue).get(f"/operators/{north.pk}/logo/").status_code == 404

    client.post(url, {**fields, "remove_logo": "on"})
    assert not OperatorLogo.objects.filter(operator=north).exists()
    assert client.get(f"/operators/{north.pk}/logo/").status_code == 404
