"""Tenancy services: tenants, operator trees, staff, roles, permissions, passwords."""

from decimal import Decimal
from typing import Any

import pytest

from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.tenancy import services
from ispbills.tenancy.models import Membership, Operator, Tenant, User
from ispbills.tenancy.roles import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.smoke


def test_create_tenant_makes_its_root_operator_and_an_audit_row(db: Any) -> None:
    tenant = services.create_tenant(actor=None, name="Rupali Net", timezone="Asia/Dhaka")

    root = Operator.objects.get(tenant=tenant)
    assert (root.kind, root.parent_id, root.path) == ("root", None, f"/{root.pk}/")
    assert (tenant.slug, tenant.currency) == ("rupali-net", "BDT")
    assert AuditEvent.objects.filter(verb="tenant.created", object_id=str(tenant.pk)).count() == 1


def test_create_tenant_refuses_unknown_zone_and_taken_slug(cast: Any) -> None:
    with pytest.raises(DomainError, match="Unknown time zone"):
        services.create_tenant(actor=None, name="X", timezone="Asia/Nowhere")
    with pytest.raises(ConflictError):
        services.create_tenant(actor=None, name="Acme")
    with pytest.raises(NotAllowedError):
        services.create_tenant(actor=cast.alice, name="Side business")
    assert Tenant.objects.count() == 2


def test_operator_tree_has_three_levels(cast: Any) -> None:
    assert (cast.north.kind, cast.north_point.kind) == ("operator", "sub_operator")
    assert cast.north_point.path == f"/{cast.acme_root.pk}/{cast.north.pk}/{cast.north_point.pk}/"
    before = Operator.objects.count()

    with pytest.raises(DomainError, match="Sub-operators cannot"):
        services.create_operator(actor=None, parent=cast.north_point, name="Too deep")

    assert Operator.objects.count() == before


def test_create_operator_checks_reach_names_and_limits(cast: Any) -> None:
    before = Operator.objects.count()
    with pytest.raises(NotAllowedError):
        services.create_operator(actor=cast.bob, parent=cast.south, name="Stolen branch")
    with pytest.raises(NotAllowedError):
        services.create_operator(actor=cast.mallory, parent=cast.north, name="Cross tenant")
    with pytest.raises(NotAllowedError):
        services.create_operator(actor=cast.carol, parent=cast.acme_root, name="Manager made")
    with pytest.raises(ConflictError):
        services.create_operator(actor=cast.alice, parent=cast.acme_root, name="acme north")
    with pytest.raises(DomainError, match="negative"):
        services.create_operator(
            actor=cast.alice, parent=cast.acme_root, name="N", credit_limit="-1"
        )
    with pytest.raises(DomainError, match="not a mobile number"):
        services.create_operator(actor=cast.alice, parent=cast.acme_root, name="M", mobile="123")
    assert Operator.objects.count() == before


def test_reseller_creates_a_sub_operator_with_normalised_fields(cast: Any) -> None:
    operator = services.create_operator(
        actor=cast.bob,
        parent=cast.north,
        name=" Mirpur 10 ",
        mobile="০১৭১১-২২৩৩৪৪",
        credit_limit="1,500.5",
        account_type="credit",
    )

    assert (operator.name, operator.mobile) == ("Mirpur 10", "+8801711223344")
    assert operator.credit_limit == Decimal("1500.50")
    event = AuditEvent.objects.get(verb="operator.created", object_id=str(operator.pk))
    assert (event.actor_id, event.operator_id) == (cast.bob.pk, operator.pk)


def test_reseller_cannot_change_its_own_terms(cast: Any) -> None:
    with pytest.raises(NotAllowedError):
        services.update_operator(actor=cast.bob, operator=cast.north, credit_limit="99999")

    assert Operator.objects.get(pk=cast.north.pk).credit_limit == Decimal("10000.00")


def test_update_operator_records_only_what_changed(cast: Any) -> None:
    services.update_operator(
        actor=cast.alice, operator=cast.north, credit_limit="12000", name="Acme North"
    )

    event = AuditEvent.objects.get(verb="operator.updated")
    assert event.changes == {"credit_limit": ["10000.00", "12000.00"]}


def test_disabling_an_operator_cuts_its_whole_subtree(cast: Any) -> None:
    services.set_operator_active(actor=cast.alice, operator=cast.north, active=False)

    assert cast.fresh(cast.bob).access.user_id is None
    assert cast.fresh(cast.sam).access.user_id is None
    assert cast.fresh(cast.sue).access.user_id == cast.sue.pk


def test_root_and_own_operator_cannot_be_disabled(cast: Any) -> None:
    with pytest.raises(DomainError):
        services.set_operator_active(actor=cast.alice, operator=cast.acme_root, active=False)
    with pytest.raises(NotAllowedError):
        services.set_operator_active(actor=cast.bob, operator=cast.north, active=False)
    assert Operator.objects.filter(is_active=False).count() == 0


def test_disabled_tenant_loses_all_access(cast: Any) -> None:
    services.set_tenant_active(actor=cast.zed, tenant=cast.acme, active=False)

    assert cast.fresh(cast.alice).access.user_id is None
    assert cast.fresh(cast.mallory).access.user_id == cast.mallory.pk


def test_create_staff_user_validates_and_refuses_duplicates(cast: Any) -> None:
    before = User.objects.count()
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"username": "ALICE"}, ConflictError, "taken"),
        ({"username": "newbie", "mobile": "+8801711000001"}, ConflictError, "mobile"),
        ({"username": "newbie", "password": "123"}, DomainError, "too short"),
        ({"username": "newbie", "role": "emperor"}, DomainError, "Unknown role"),
        ({"username": "  "}, DomainError, "Choose a username"),
    ]
    for overrides, error, message in cases:
        kwargs = {
            "operator": cast.north,
            "username": "newbie",
            "password": "Long-enough-pw-1",
            "role": Role.MANAGER,
            **overrides,
        }
        with pytest.raises(error, match=message):
            services.create_staff_user(actor=cast.bob, **kwargs)
    assert User.objects.count() == before
    assert Membership.objects.count() == before - 1  # zed has none


def test_group_admin_role_only_at_root_and_only_by_group_admins(cast: Any) -> None:
    with pytest.raises(DomainError, match="own node"):
        services.create_staff_user(
            actor=cast.alice,
            operator=cast.north,
            username="x1",
            password="Long-enough-pw-1",
            role=Role.GROUP_ADMIN,
        )
    services.set_special_permission(actor=None, user=cast.ann, permission="users.add", granted=True)
    with pytest.raises(NotAllowedError, match="group admins"):
        services.create_staff_user(
            actor=cast.fresh(cast.ann),
            operator=cast.acme_root,
            username="x2",
            password="Long-enough-pw-1",
            role=Role.GROUP_ADMIN,
        )
    assert not User.objects.filter(username__in=["x1", "x2"]).exists()


def test_special_permissions_grant_and_revoke_on_top_of_the_role(cast: Any) -> None:
    services.set_special_permission(
        actor=cast.alice, user=cast.nina, permission="audit.view", granted=True
    )
    services.set_special_permission(
        actor=cast.alice, user=cast.nina, permission="network.delete", granted=False
    )

    permissions = cast.fresh(cast.nina).access.permissions
    assert permissions == (ROLE_PERMISSIONS[Role.NOC] | {"audit.view"}) - {"network.delete"}

    services.set_special_permission(
        actor=cast.alice, user=cast.nina, permission="audit.view", granted=None
    )
    assert "audit.view" not in cast.fresh(cast.nina).access.permissions


def test_nobody_grants_a_permission_they_do_not_hold(cast: Any) -> None:
    with pytest.raises(NotAllowedError):
        services.set_special_permission(
            actor=cast.bob, user=cast.sam, permission="tenant.change", granted=True
        )
    with pytest.raises(DomainError, match="Unknown permission"):
        services.set_special_permission(
            actor=cast.alice, user=cast.sam, permission="x.y", granted=True
        )
    assert "tenant.change" not in cast.fresh(cast.sam).access.permissions


def test_users_cannot_change_their_own_role_or_disable_themselves(cast: Any) -> None:
    with pytest.raises(NotAllowedError):
        services.update_staff_user(actor=cast.bob, user=cast.bob, role=Role.MANAGER)
    with pytest.raises(NotAllowedError):
        services.update_staff_user(actor=cast.bob, user=cast.bob, is_active=False)
    assert Membership.objects.get(user=cast.bob).role == Role.OPERATOR_ADMIN


def test_change_password_needs_the_current_one_for_oneself(cast: Any) -> None:
    old_hash = User.objects.get(pk=cast.bob.pk).password
    with pytest.raises(DomainError, match="current password"):
        services.change_password(
            actor=cast.bob, user=cast.bob, old_password="nope", new_password="A-new-secret-22"
        )
    assert User.objects.get(pk=cast.bob.pk).password == old_hash

    services.change_password(actor=cast.alice, user=cast.bob, new_password="A-new-secret-22")

    assert User.objects.get(pk=cast.bob.pk).check_password("A-new-secret-22")
    with pytest.raises(NotAllowedError):
        services.change_password(actor=cast.bob, user=cast.sue, new_password="A-new-secret-33")


def test_createadmin_command_creates_superadmin_or_a_tenant(db: Any) -> None:
    from django.core.management import CommandError, call_command

    call_command("createadmin", username="root2", password="Platform-pass-99")
    call_command(
        "createadmin",
        username="boss",
        password="Tenant-pass-99",
        tenant="Padma Net",
        mobile="01811000000",
    )

    assert User.objects.get(username="root2").is_superuser
    boss = User.objects.get(username="boss")
    assert (boss.membership.role, boss.membership.operator.tenant.name) == (
        "group_admin",
        "Padma Net",
    )
    with pytest.raises(CommandError, match="too short"):
        call_command("createadmin", username="weak", password="short")
    assert not User.objects.filter(username="weak").exists()
