"""``Authorization: Bearer <token>`` for staff API tokens."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from ispbills.core.access import NO_ACCESS
from ispbills.tenancy.services import user_for_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Looks the token up by its SHA-256; revoked tokens and disabled users get 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send exactly: Authorization: Bearer <token>."))
        user = user_for_token(parts[1])
        if user is None:
            raise exceptions.AuthenticationFailed(_("This token is unknown or revoked."))
        if not user.is_superuser and user.access is NO_ACCESS:
            raise exceptions.AuthenticationFailed(_("This user's access is disabled."))
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "ispbills.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}
