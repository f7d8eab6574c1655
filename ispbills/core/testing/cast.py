"""The fixed cast every test uses (names as in the house style).

Acme ISP (Asia/Dhaka):
  root node "Acme" ── alice (group admin), carol (manager), nina (NOC),
  │                    dave (card distributor), ann (accountant)
  ├── "Acme North" (reseller) ── bob (operator admin)
  │     └── "North Point" (sub-operator) ── sam (operator admin)
  └── "Acme South" (reseller) ── sue (operator admin)
Globex ISP: root "Globex" ── mallory (group admin); "Globex East" (reseller)
Platform: zed (super admin)
"""

from dataclasses import dataclass

from ispbills.tenancy import services
from ispbills.tenancy.models import Operator, Tenant, User
from ispbills.tenancy.roles import Role

PASSWORD = "correct-horse-battery"


@dataclass
class Cast:
    acme: Tenant
    acme_root: Operator
    north: Operator
    north_point: Operator
    south: Operator
    globex: Tenant
    globex_root: Operator
    globex_east: Operator
    alice: User
    bob: User
    sam: User
    sue: User
    carol: User
    nina: User
    dave: User
    ann: User
    mallory: User
    zed: User

    def fresh(self, user: User) -> User:
        """The user re-read from the database (its Access is computed anew)."""
        return User.objects.get(pk=user.pk)


def build_cast() -> Cast:
    acme = services.create_tenant(actor=None, name="Acme", slug="acme")
    acme_root = services.root_operator(acme)
    north = services.create_operator(
        actor=None, parent=acme_root, name="Acme North", account_type="credit", credit_limit="10000"
    )
    north_point = services.create_operator(actor=None, parent=north, name="North Point")
    south = services.create_operator(actor=None, parent=acme_root, name="Acme South")
    globex = services.create_tenant(
        actor=None, name="Globex", slug="globex", timezone="Europe/London"
    )
    globex_root = services.root_operator(globex)
    globex_east = services.create_operator(actor=None, parent=globex_root, name="Globex East")

    def staff(username: str, operator: Operator, role: str, mobile: str = "") -> User:
        return services.create_staff_user(
            actor=None,
            operator=operator,
            username=username,
            password=PASSWORD,
            role=role,
            mobile=mobile,
        )

    return Cast(
        acme=acme,
        acme_root=acme_root,
        north=north,
        north_point=north_point,
        south=south,
        globex=globex,
        globex_root=globex_root,
        globex_east=globex_east,
        alice=staff("alice", acme_root, Role.GROUP_ADMIN, "01711000001"),
        bob=staff("bob", north, Role.OPERATOR_ADMIN, "01711000002"),
        sam=staff("sam", north_point, Role.OPERATOR_ADMIN),
        sue=staff("sue", south, Role.OPERATOR_ADMIN),
        carol=staff("carol", acme_root, Role.MANAGER),
        nina=staff("nina", acme_root, Role.NOC),
        dave=staff("dave", acme_root, Role.CARD_DISTRIBUTOR),
        ann=staff("ann", acme_root, Role.ACCOUNTANT),
        mallory=staff("mallory", globex_root, Role.GROUP_ADMIN),
        zed=services.create_superadmin(username="zed", password=PASSWORD),
    )
