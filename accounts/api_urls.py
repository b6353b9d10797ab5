"""The local administrator's endpoints under /api/v1/admin/ (accounts.api)."""

from django.urls import path

from accounts import api

urlpatterns = [
    path("admin/users", api.UserCollectionApi.as_view(), name="admin-users"),
    path(
        "admin/users/<int:user_id>/deactivate",
        api.UserDeactivateApi.as_view(),
        name="admin-user-deactivate",
    ),
    path(
        "admin/users/<int:user_id>/reactivate",
        api.UserReactivateApi.as_view(),
        name="admin-user-reactivate",
    ),
    path("admin/grants", api.GrantCollectionApi.as_view(), name="admin-grants"),
    path("admin/grants/<int:grant_id>", api.GrantRevokeApi.as_view(), name="admin-grant"),
    path("admin/units", api.UnitListApi.as_view(), name="admin-units"),
    path("admin/role-profiles", api.RoleProfileListApi.as_view(), name="admin-role-profiles"),
    path("admin/audit", api.AuditEventListApi.as_view(), name="admin-audit"),
]
