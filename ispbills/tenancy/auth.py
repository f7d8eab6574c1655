"""Staff authentication: username or mobile number, and no login for disabled ISPs."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from ispbills.core.access import NO_ACCESS
from ispbills.core.phone import PhoneError, normalize_mobile
from ispbills.tenancy.models import User


def find_user(login: str) -> User | None:
    """The user whose username (any case) or mobile number matches."""
    login = (login or "").strip()
    if not login:
        return None
    user = User.objects.filter(username__iexact=login).first()
    if user is not None:
        return user
    try:
        mobile = normalize_mobile(login)
    except PhoneError:
        return None
    return User.objects.filter(mobile=mobile).first()


class UsernameOrMobileBackend(ModelBackend):
    """Authenticates by username or mobile; refuses users whose ISP or operator is disabled."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        user = find_user(username or "")
        if user is None:
            User().set_password(password or "")  # same cost as a real check: no timing oracle
            return None
        if user.check_password(password or "") and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The session's user even when their access was cut, so the middleware can end the
        session for good (a refused user would just look anonymous and keep the session)."""
        return User._default_manager.filter(pk=user_id).first()

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return bool(user.is_superuser or user.access is not NO_ACCESS)
