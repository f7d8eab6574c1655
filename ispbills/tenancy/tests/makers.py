"""Isolation-kit makers for the tenancy models."""

from ispbills.core.testing.isolation import maker
from ispbills.tenancy import services
from ispbills.tenancy.models import ApiToken, LoginAttempt, Membership, Operator, Tenant, User
from ispbills.tenancy.roles import Role


@maker(Tenant)
def make_tenant(operator: Operator, marker: str) -> Tenant:
    return services.create_tenant(actor=None, name=marker)


@maker(Operator)
def make_operator(operator: Operator, marker: str) -> Operator:
    return services.create_operator(actor=None, parent=operator, name=marker)


@maker(User)
def make_user(operator: Operator, marker: str) -> User:
    return services.create_staff_user(
        actor=None,
        operator=operator,
        username=marker,
        password="Long-enough-pw-1",
        role=Role.MANAGER,
    )


@maker(Membership)
def make_membership(operator: Operator, marker: str) -> Membership:
    return make_user(operator, marker).membership


@maker(ApiToken)
def make_token(operator: Operator, marker: str) -> ApiToken:
    token, _plain = services.create_api_token(
        actor=None, user=make_user(operator, marker), name=marker
    )
    return token


@maker(LoginAttempt)
def make_login_attempt(operator: Operator, marker: str) -> LoginAttempt:
    user = make_user(operator, marker)
    return services.record_login_attempt(
        username=marker, user=user, success=False, reason="bad_password", ip="192.0.2.10"
    )
