"""The administration pages, under /administration/ (namespace ``portal:administration``)."""

from django.urls import path

from portal.administration import benefits, control_lists, readiness, users, views

app_name = "administration"

urlpatterns = [
    path("", views.index, name="index"),
    path("ydelser/", benefits.benefit_index, name="benefits"),
    path("ydelser/ny/", benefits.benefit_new, name="benefit-new"),
    path("ydelser/<str:code>/", benefits.benefit_edit, name="benefit"),
    path("brugere/", users.user_index, name="users"),
    path("brugere/ny/", users.user_new, name="user-new"),
    path("brugere/<int:user_id>/", users.user_detail, name="user"),
    path("brugere/<int:user_id>/aktiv/", users.user_active, name="user-active"),
    path("brugere/<int:user_id>/rolleprofiler/", users.grant_new, name="grant-new"),
    path("rolleprofiler/<int:grant_id>/fjern/", users.grant_remove, name="grant-remove"),
    path("parathed/", readiness.checklist, name="readiness"),
    path("parathed/<str:item>/", readiness.checklist_item, name="readiness-item"),
    path("kontrollister/", control_lists.index, name="control-lists"),
    path("kontrollister/kontoaendringer/", control_lists.account_changes, name="account-changes"),
    path("kontrollister/rolleprofiler/", control_lists.role_profiles, name="role-profiles"),
    path("kontrollister/ubrugte/", control_lists.unused_grants, name="unused-grants"),
    path("kontrollister/aendringer/", control_lists.changes, name="changes"),
]
