"""Plumbing shared by the apps' REST endpoints: the problem document and its schema, strict input,
the actor of a session request, and cursor pagination.

Domain apps (accounts, payments, registry) import these from here rather than from each other.
"""

from collections.abc import Mapping
from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from nemkonto.errors import ApplicationError


class StrictInputSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know (``is_staff``, ``kind``...) instead of ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [
                            serializers.ErrorDetail(str(_("Unknown field.")), code="unknown_field")
                        ]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


@extend_schema_serializer(component_name="Problem")
class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 9457 problem details, the error shape of every endpoint (API.md, Conventions)."""

    @extend_schema_serializer(component_name="ProblemFieldError")
    class FieldErrorSerializer(serializers.Serializer[Any]):
        field = serializers.CharField()
        code = serializers.CharField()
        message = serializers.CharField()

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = FieldErrorSerializer(many=True)  # type: ignore[assignment]


PROBLEM_DESCRIPTIONS = {
    400: _("The request has errors (each named by its field)."),
    403: _("Not logged in, or not permitted."),
    404: _("Not found, or not yours to see."),
    409: _("Conflicts with the current state."),
    413: _("The body is larger than the limit; nothing was stored."),
    415: _("The media type or content encoding is not one the endpoint reads."),
    422: _("Refused by a business rule (the field is named)."),
    429: _("Too many requests; try again after Retry-After seconds."),
    401: _("No valid bearer token."),
}


def problems(*codes: int) -> dict[Any, Any]:
    """The error answers of an operation, for the schema, as application/problem+json.

    403 is always among them; 401 (a missing or bad bearer token) comes last when asked for.
    """
    ordered = [403, *(code for code in codes if code != 401)]
    if 401 in codes:
        ordered.append(401)
    return {
        (code, "application/problem+json"): OpenApiResponse(
            ProblemSerializer, PROBLEM_DESCRIPTIONS[code]
        )
        for code in ordered
    }


_HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
COMMON_PROBLEMS = {
    "400": _("A malformed request: a NUL character in the address, an invalid cursor, ..."),
    "404": _("No such address: a path parameter of the wrong form, or nothing found."),
    "413": _("The body is larger than the limit; nothing was stored."),
}


def document_common_problems(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the answers any operation can give, whatever its
    view declares: 400 for a malformed request (``nemkonto.middleware``, the cursor), 404 where
    the path has parameters (an address no route matches), 413 where there is a body."""
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _HTTP_METHODS:
                continue
            wanted = ["400"]
            if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
                wanted.append("404")
            if "requestBody" in operation:
                wanted.append("413")
            responses = operation.setdefault("responses", {})
            for code in wanted:
                responses.setdefault(
                    code, {"description": str(COMMON_PROBLEMS[code]), "content": content}
                )
    return result


def request_actor(request: Request) -> User:
    """The logged-in user of a session-authenticated request (its permission class checked it)."""
    return cast(User, request.user)


# Listed by hand: drf-spectacular takes the lowest status of an operation as its main answer,
# and "(403, media type)" sorts before 200, so it would not see these views as lists.
CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", str, description="The opaque cursor of the page (from `next`)"),
    OpenApiParameter("page_size", int, description="Items per page (default 50, at most 200)"),
]


class _CursorPagination(CursorPagination):
    """DRF's cursor pagination, with a cursor it did not give out answered 400 naming
    ``cursor`` (DRF answers 404, as if the list did not exist)."""

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ApplicationError(
                _("The cursor is not one this list gave out; start again without it."),
                field="cursor",
                code="invalid_cursor",
            ) from None


def cursor_pagination(order: str) -> type[CursorPagination]:
    """A cursor pagination class ordered by ``order``: 50 a page, ``page_size`` up to 200."""
    return type(
        "CursorPagination",
        (_CursorPagination,),
        {
            "ordering": order,
            "page_size": 50,
            "page_size_query_param": "page_size",
            "max_page_size": 200,
        },
    )


def paginated(
    view: APIView,
    request: Request,
    queryset: QuerySet[Any],
    serializer: type[serializers.Serializer[Any]],
) -> Response:
    """One page of ``queryset`` by the view's ``pagination_class``, serialized."""
    paginator = cast(type[CursorPagination], view.pagination_class)()  # type: ignore[attr-defined]
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)
