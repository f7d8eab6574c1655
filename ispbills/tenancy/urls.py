from django.urls import path

from ispbills.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("operators/", views.OperatorListView.as_view(), name="operator_list"),
    path("operators/add/", views.OperatorCreateView.as_view(), name="operator_add"),
    path("operators/<int:pk>/", views.OperatorDetailView.as_view(), name="operator_detail"),
    path("operators/<int:pk>/logo/", views.OperatorLogoView.as_view(), name="operator_logo"),
    path("operators/<int:pk>/edit/", views.OperatorEditView.as_view(), name="operator_edit"),
    path("operators/<int:pk>/toggle/", views.OperatorToggleView.as_view(), name="operator_toggle"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/add/", views.UserCreateView.as_view(), name="user_add"),
    path("users/<int:pk>/", views.UserDetailView.as_view(), name="user_detail"),
    path("users/<int:pk>/edit/", views.UserEditView.as_view(), name="user_edit"),
    path(
        "users/<int:pk>/permissions/", views.UserPermissionView.as_view(), name="user_permissions"
    ),
    path("users/<int:pk>/password/", views.UserSetPasswordView.as_view(), name="user_password"),
    path("login-log/", views.LoginAttemptListView.as_view(), name="login_attempt_list"),
    path("isps/", views.TenantListView.as_view(), name="tenant_list"),
    path("isps/add/", views.TenantCreateView.as_view(), name="tenant_add"),
]
