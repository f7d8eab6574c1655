"""Isolation-kit makers for the catalog models."""

from ispbills.catalog import services
from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.testing.isolation import maker
from ispbills.tenancy.models import Operator


@maker(Package)
def make_package(operator: Operator, marker: str) -> Package:
    return services.save_package(
        actor=None,
        operator=operator,
        name=marker,
        download_kbps=10000,
        upload_kbps=10000,
        price="500",
    )


@maker(BillingProfile)
def make_billing_profile(operator: Operator, marker: str) -> BillingProfile:
    return services.save_billing_profile(actor=None, operator=operator, name=marker, due_day=10)


@maker(VatProfile)
def make_vat_profile(operator: Operator, marker: str) -> VatProfile:
    return services.save_vat_profile(actor=None, operator=operator, name=marker, rate="5")
