"""restrict() by tenant, subtree, role and permission; cross-tenant references refused."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from ispbills.core import audit
from ispbills.core.access import NO_ACCESS, access_of
from ispbills.core.context import RequestInfo, current_request
from ispbills.core.models import AuditEvent, JobRun, check_same_tenant
from ispbills.tenancy import services
from ispbills.tenancy.models import Operator, User

pytestmark = pytest.mark.smoke


def names(queryset: Any) -> set[str]:
    return {str(row) for row in queryset}


def test_group_admin_sees_the_whole_tenant_and_nothing_of_another(cast: Any) -> None:
    visible = names(Operator.objects.restrict(cast.alice))

    assert visible == {"Acme", "Acme North", "North Point", "Acme South"}


def test_reseller_sees_only_its_subtree(cast: Any) -> None:
    assert names(Operator.objects.restrict(cast.bob)) == {"Acme North", "North Point"}
    assert names(Operator.objects.restrict(cast.sam)) == {"North Point"}


def test_reseller_may_change_nodes_below_but_not_its_own(cast: Any) -> None:
    assert names(Operator.objects.restrict(cast.bob, "change")) == {"North Point"}
    assert names(Operator.objects.restrict(cast.alice, "change")) == {
        "Acme",
        "Acme North",
        "North Point",
        "Acme South",
    }


def test_role_without_the_area_permission_sees_nothing(cast: Any) -> None:
    # NOC users hold no operators.view: no rows, not even their own operator.
    assert Operator.objects.restrict(cast.nina).count() == 0
    assert User.objects.restrict(cast.dave).count() == 0


def test_users_are_scoped_through_their_membership(cast: Any) -> None:
    assert names(User.objects.restrict(cast.bob)) == {"bob", "sam"}
    assert "zed" not in names(User.objects.restrict(cast.alice))
    assert "mallory" not in names(User.objects.restrict(cast.alice))


def test_super_admin_sees_all_tenants_or_the_one_selected(cast: Any) -> None:
    zed = cast.fresh(cast.zed)
    assert Operator.objects.restrict(zed).count() == 6
    zed = cast.fresh(cast.zed)
    zed.selected_tenant_id = cast.globex.pk
    assert names(Operator.objects.restrict(zed)) == {"Globex", "Globex East"}


def test_anonymous_and_inactive_users_get_nothing(cast: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert access_of(AnonymousUser()) is NO_ACCESS
    assert Operator.objects.restrict(AnonymousUser()).count() == 0
    services.update_staff_user(actor=None, user=cast.bob, is_active=False)
    assert Operator.objects.restrict(cast.fresh(cast.bob)).count() == 0


def test_tenant_wide_rows_are_hidden_from_resellers(cast: Any) -> None:
    audit.record(None, "tenant.setting", tenant=cast.acme, label="tenant-wide")

    assert AuditEvent.objects.restrict(cast.alice).filter(object_label="tenant-wide").exists()
    assert not AuditEvent.objects.restrict(cast.bob).filter(object_label="tenant-wide").exists()


def test_for_operator_gives_the_operator_subtree_for_jobs(cast: Any) -> None:
    JobRun.objects.create(tenant=cast.acme, operator=cast.north_point, kind="k", label="below")
    JobRun.objects.create(tenant=cast.acme, operator=cast.south, kind="k", label="sibling")

    assert names(JobRun.objects.for_operator(cast.north)) == {"below"}


def test_model_validation_refuses_a_reference_to_another_tenant(cast: Any) -> None:
    run = JobRun(tenant=cast.acme, operator=cast.globex_east, kind="k", label="mixed")

    with pytest.raises(ValidationError) as error:
        check_same_tenant(run)

    assert "operator" in error.value.message_dict


def test_audit_rows_carry_the_request_address_and_agent(cast: Any) -> None:
    token = current_request.set(RequestInfo(ip="203.0.113.9", user_agent="pytest-agent"))
    try:
        event = audit.record(cast.alice, "thing.done", cast.north, changes={"a": [1, 2]})
    finally:
        current_request.reset(token)

    assert (event.ip, event.user_agent, event.actor_label) == (
        "203.0.113.9",
        "pytest-agent",
        "alice",
    )
    assert (event.tenant_id, event.operator_id) == (cast.acme.pk, cast.north.pk)
    assert event.object_type == "tenancy.operator"
    assert event.changes == {"a": [1, 2]}
