"""Views that serve the API's own documents (schema and docs), open without login."""

from django.contrib.auth.decorators import login_not_required
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

schema_view = login_not_required(
    SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[])
)
docs_view = login_not_required(
    SpectacularSwaggerView.as_view(
        url_name="api-schema", authentication_classes=[], permission_classes=[]
    )
)
