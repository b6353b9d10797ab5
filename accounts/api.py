"""REST endpoints for the local administrator's work: users, grants, units, profiles, audit.

Session-authenticated (the browser of a logged-in local administrator or operator). One APIView
per operation; where two operations share a URL (list and create), the URL's view is the two
operation classes combined, each keeping its own serializers and schema. Every write goes
through one service call, so a refused or failed request changes nothing.
"""

from typing import Any, cast

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AuditEvent, Grant, LosUnit, RoleProfile, User
from accounts.role_profiles import STANDARD_BY_CODE
from accounts.selectors import (
    audit_event_list,
    employee_get,
    employee_list,
    grant_get,
    grant_list,
    is_local_administrator,
    role_profile_list,
    unit_tree,
)
from accounts.services import (
    employee_create,
    employee_deactivate,
    employee_reactivate,
    grant_create,
    grant_revoke,
)
from nemkonto.api_support import (
    CURSOR_PARAMETERS,
    StrictInputSerializer,
    cursor_pagination,
    paginated,
    problems,
    request_actor,
)
from nemkonto.errors import PermissionDenied

TAG = "Local administration"

# --- Shared pieces ------------------------------------------------------------------------------


class IsLocalAdministrator(BasePermission):
    """An active user with local administration on at least one unit, or an operator."""

    message = _("You need the local administration role profile for this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_local_administrator(request.user)


class AdminApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsLocalAdministrator]


def _scoped(value: int | str, queryset: QuerySet[Any], field: str = "pk") -> Model:
    """The object among those the actor may use, else the same error as for a missing one."""
    found = queryset.filter(**{field: value}).first()
    if found is None:
        raise serializers.ValidationError(
            _("Unknown, or not yours to administer."), code="does_not_exist"
        )
    return cast(Model, found)


# --- Output shapes ------------------------------------------------------------------------------


@extend_schema_serializer(component_name="AdminUser")
class EmployeeOutputSerializer(serializers.Serializer[User]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    authority = serializers.CharField(source="authority.code", allow_null=True)
    is_active = serializers.BooleanField()
    date_joined = serializers.DateTimeField()


@extend_schema_serializer(component_name="AdminGrant")
class GrantOutputSerializer(serializers.Serializer[Grant]):
    @extend_schema_serializer(component_name="AdminGrantUser")
    class UserRefSerializer(serializers.Serializer[User]):
        id = serializers.IntegerField()
        username = serializers.CharField()

    @extend_schema_serializer(component_name="AdminGrantProfile")
    class ProfileRefSerializer(serializers.Serializer[RoleProfile]):
        code = serializers.CharField()
        name = serializers.CharField()

    @extend_schema_serializer(component_name="AdminGrantUnit")
    class UnitRefSerializer(serializers.Serializer[LosUnit]):
        id = serializers.IntegerField()
        code = serializers.CharField()
        name = serializers.CharField()

    id = serializers.IntegerField()
    user = UserRefSerializer()
    role_profile = ProfileRefSerializer()
    unit = UnitRefSerializer()
    granted_by = serializers.CharField(source="granted_by.username", allow_null=True)
    granted_at = serializers.DateTimeField()


# --- Users --------------------------------------------------------------------------------------


class UserListApi(AdminApi):
    """The employees of the actor's authority (all authorities for operators)."""

    pagination_class = cursor_pagination("username")

    @extend_schema_serializer(component_name="AdminUserFilter")
    class FilterSerializer(StrictInputSerializer):
        search = serializers.CharField(required=False, allow_blank=True, max_length=100)
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False, min_value=1)

    OutputSerializer = EmployeeOutputSerializer

    @extend_schema(
        operation_id="admin_users_list",
        description=(
            "The employees of the actor's authority (all authorities for operators), by username."
        ),
        tags=[TAG],
        summary="List users",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter(
                "search", str, description="Words to find in username, names or email"
            ),
        ],
        responses={200: EmployeeOutputSerializer(many=True), **problems(400)},
    )
    def get(self, request: Request) -> Response:
        filters = UserListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        users = employee_list(
            actor=request_actor(request), search=filters.validated_data.get("search")
        )
        return paginated(self, request, users, EmployeeOutputSerializer)


@extend_schema_serializer(component_name="AdminUserCreateGrant")
class UserGrantInputSerializer(StrictInputSerializer):
    """One role profile on one unit, granted with a new user."""

    role_profile = serializers.SlugField(help_text="Role profile code")
    unit = serializers.IntegerField(help_text="LOS unit id")

    def validate_role_profile(self, value: str) -> Model:
        return _scoped(value, role_profile_list(actor=self.context["actor"]), "code")

    def validate_unit(self, value: int) -> Model:
        return _scoped(value, unit_tree(actor=self.context["actor"]))


class UserCreateApi(AdminApi):
    """A new caseworker of the actor's authority, optionally with first grants (all or nothing)."""

    @extend_schema_serializer(component_name="AdminUserCreate")
    class InputSerializer(StrictInputSerializer):
        username = serializers.CharField(max_length=150)
        first_name = serializers.CharField(max_length=150)
        last_name = serializers.CharField(max_length=150)
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        grants = UserGrantInputSerializer(many=True, required=False)

    OutputSerializer = EmployeeOutputSerializer

    @extend_schema(
        operation_id="admin_users_create",
        description=(
            "A new caseworker of the actor's authority, optionally with first grants; all or "
            "nothing. The new user is always an employee: never an operator, staff or superuser."
        ),
        tags=[TAG],
        summary="Create a user",
        request=InputSerializer,
        responses={201: EmployeeOutputSerializer, **problems(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        actor = request_actor(request)
        if actor.authority is None:
            raise PermissionDenied(
                _("Operators create users in the Django admin."), code="no_authority"
            )
        data = UserCreateApi.InputSerializer(data=request.data, context={"actor": actor})
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        user = employee_create(
            actor=actor,
            authority=actor.authority,
            username=fields["username"],
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            email=fields["email"],
            grants=[(grant["role_profile"], grant["unit"]) for grant in fields.get("grants", [])],
        )
        return Response(EmployeeOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserCollectionApi(UserListApi, UserCreateApi):
    """``/admin/users``: GET is UserListApi, POST is UserCreateApi."""


class UserDeactivateApi(AdminApi):
    """Deactivate a user: they can no longer log in or act; their grants are kept."""

    @extend_schema(
        operation_id="admin_users_deactivate",
        description=(
            "The user can no longer log in or act; their grants are kept. Needs local "
            "administration on every unit the user holds a grant on; not on yourself."
        ),
        tags=[TAG],
        summary="Deactivate a user",
        request=None,
        responses={200: EmployeeOutputSerializer, **problems(404, 409)},
    )
    def post(self, request: Request, user_id: int) -> Response:
        actor = request_actor(request)
        user = employee_deactivate(actor=actor, user=employee_get(actor=actor, user_id=user_id))
        return Response(EmployeeOutputSerializer(user).data)


class UserReactivateApi(AdminApi):
    """Reactivate a user with the grants they had."""

    @extend_schema(
        operation_id="admin_users_reactivate",
        description="The user gets back the grants they had. Same rules as deactivation.",
        tags=[TAG],
        summary="Reactivate a user",
        request=None,
        responses={200: EmployeeOutputSerializer, **problems(404, 409)},
    )
    def post(self, request: Request, user_id: int) -> Response:
        actor = request_actor(request)
        user = employee_reactivate(actor=actor, user=employee_get(actor=actor, user_id=user_id))
        return Response(EmployeeOutputSerializer(user).data)


# --- Grants -------------------------------------------------------------------------------------


class GrantListApi(AdminApi):
    """Grants on the units the actor administers, newest first."""

    pagination_class = cursor_pagination("-id")

    @extend_schema_serializer(component_name="AdminGrantFilter")
    class FilterSerializer(StrictInputSerializer):
        user = serializers.IntegerField(required=False)
        unit = serializers.IntegerField(required=False)
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False, min_value=1)

    OutputSerializer = GrantOutputSerializer

    @extend_schema(
        operation_id="admin_grants_list",
        description="Grants on the units the actor administers, newest first.",
        tags=[TAG],
        summary="List grants",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter("user", int, description="Only this user's grants"),
            OpenApiParameter("unit", int, description="Only grants on this unit"),
        ],
        responses={200: GrantOutputSerializer(many=True), **problems(400)},
    )
    def get(self, request: Request) -> Response:
        filters = GrantListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        grants = grant_list(
            actor=request_actor(request),
            user_id=filters.validated_data.get("user"),
            unit_id=filters.validated_data.get("unit"),
        )
        return paginated(self, request, grants, GrantOutputSerializer)


class GrantCreateApi(AdminApi):
    """Give a user a role profile on a unit (and its sub-units)."""

    @extend_schema_serializer(component_name="AdminGrantCreate")
    class InputSerializer(StrictInputSerializer):
        user = serializers.IntegerField(help_text="User id")
        role_profile = serializers.SlugField(help_text="Role profile code")
        unit = serializers.IntegerField(help_text="LOS unit id")

        def validate_user(self, value: int) -> Model:
            return _scoped(value, employee_list(actor=self.context["actor"]))

        def validate_role_profile(self, value: str) -> Model:
            return _scoped(value, role_profile_list(actor=self.context["actor"]), "code")

        def validate_unit(self, value: int) -> Model:
            return _scoped(value, unit_tree(actor=self.context["actor"]))

    OutputSerializer = GrantOutputSerializer

    @extend_schema(
        operation_id="admin_grants_create",
        description=(
            "Give an employee of your authority a role profile on a unit you administer (covers "
            "its sub-units). Audited."
        ),
        tags=[TAG],
        summary="Grant a role profile",
        request=InputSerializer,
        responses={201: GrantOutputSerializer, **problems(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        actor = request_actor(request)
        data = GrantCreateApi.InputSerializer(data=request.data, context={"actor": actor})
        data.is_valid(raise_exception=True)
        created = grant_create(actor=actor, **data.validated_data)
        return Response(GrantOutputSerializer(created).data, status=status.HTTP_201_CREATED)


class GrantCollectionApi(GrantListApi, GrantCreateApi):
    """``/admin/grants``: GET is GrantListApi, POST is GrantCreateApi."""


class GrantRevokeApi(AdminApi):
    """Take a grant back."""

    @extend_schema(
        operation_id="admin_grants_revoke",
        description="Take back a grant on a unit you administer. Audited.",
        tags=[TAG],
        summary="Revoke a grant",
        request=None,
        responses={204: None, **problems(404)},
    )
    def delete(self, request: Request, grant_id: int) -> Response:
        actor = request_actor(request)
        grant_revoke(actor=actor, grant=grant_get(actor=actor, grant_id=grant_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Units, role profiles, audit ----------------------------------------------------------------


class UnitListApi(AdminApi):
    """The LOS units the actor administers, in tree order."""

    pagination_class = cursor_pagination("path")

    @extend_schema_serializer(component_name="AdminUnit")
    class OutputSerializer(serializers.Serializer[LosUnit]):
        id = serializers.IntegerField()
        code = serializers.CharField()
        name = serializers.CharField()
        authority = serializers.CharField(source="authority.code", allow_null=True)
        parent = serializers.IntegerField(source="parent_id", allow_null=True)  # type: ignore[assignment]
        path = serializers.CharField()
        depth = serializers.SerializerMethodField()
        closed_at = serializers.DateTimeField(allow_null=True)

        def get_depth(self, unit: LosUnit) -> int:
            """0 for a root unit, 1 for its children, and so on."""
            return unit.path.count("/") - 2

    @extend_schema(
        operation_id="admin_units_list",
        description="The LOS units the actor administers, in tree order.",
        tags=[TAG],
        summary="List LOS units",
        parameters=CURSOR_PARAMETERS,
        responses={200: OutputSerializer(many=True), **problems()},
    )
    def get(self, request: Request) -> Response:
        units = unit_tree(actor=request_actor(request))
        return paginated(self, request, units, UnitListApi.OutputSerializer)


class RoleProfileListApi(AdminApi):
    """The role profiles that can be granted, with their functions."""

    pagination_class = cursor_pagination("code")

    @extend_schema_serializer(component_name="AdminRoleProfile")
    class OutputSerializer(serializers.Serializer[RoleProfile]):
        @extend_schema_serializer(component_name="AdminRoleProfileFunction")
        class FunctionSerializer(serializers.Serializer[Any]):
            codename = serializers.CharField()
            name = serializers.CharField()

        code = serializers.CharField()
        name = serializers.CharField()
        description = serializers.SerializerMethodField()
        is_standard = serializers.BooleanField()
        functions = FunctionSerializer(many=True, source="functions.all")

        def get_description(self, profile: RoleProfile) -> str:
            """The standard profiles' descriptions are shown in the reader's language."""
            standard = STANDARD_BY_CODE.get(profile.code) if profile.is_standard else None
            return str(standard.description) if standard else profile.description

    @extend_schema(
        operation_id="admin_role_profiles_list",
        description="The role profiles that can be granted, with their functions.",
        tags=[TAG],
        summary="List role profiles",
        parameters=CURSOR_PARAMETERS,
        responses={200: OutputSerializer(many=True), **problems()},
    )
    def get(self, request: Request) -> Response:
        profiles = role_profile_list(actor=request_actor(request))
        return paginated(self, request, profiles, RoleProfileListApi.OutputSerializer)


class AuditEventListApi(AdminApi):
    """The audit trail the actor may read, newest first."""

    pagination_class = cursor_pagination("-id")

    @extend_schema_serializer(component_name="AdminAuditFilter")
    class FilterSerializer(StrictInputSerializer):
        action = serializers.CharField(required=False, max_length=60)
        target_type = serializers.CharField(required=False, max_length=60)
        target_id = serializers.CharField(required=False, max_length=60)
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False, min_value=1)

    @extend_schema_serializer(component_name="AdminAuditEvent")
    class OutputSerializer(serializers.Serializer[AuditEvent]):
        id = serializers.IntegerField()
        at = serializers.DateTimeField()
        actor = serializers.CharField(source="actor_label")
        action = serializers.CharField()
        target_type = serializers.CharField()
        target_id = serializers.CharField()
        authority = serializers.CharField(source="authority.code", allow_null=True)
        data = serializers.JSONField()  # type: ignore[assignment]

    @extend_schema(
        operation_id="admin_audit_list",
        description=(
            "The audit trail of your authority, without events about units outside your scope; "
            "newest first."
        ),
        tags=[TAG],
        summary="List audit events",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter("action", str, description="e.g. grant_create"),
            OpenApiParameter("target_type", str, description="e.g. accounts.Grant"),
            OpenApiParameter("target_id", str),
        ],
        responses={200: OutputSerializer(many=True), **problems(400)},
    )
    def get(self, request: Request) -> Response:
        filters = AuditEventListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = audit_event_list(
            actor=request_actor(request),
            action=filters.validated_data.get("action"),
            target_type=filters.validated_data.get("target_type"),
            target_id=filters.validated_data.get("target_id"),
        ).select_related("authority")
        return paginated(self, request, events, AuditEventListApi.OutputSerializer)
