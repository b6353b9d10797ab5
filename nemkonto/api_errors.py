"""One error shape for the whole REST API: RFC 9457 problem details (API.md, Conventions)."""

from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from nemkonto.errors import ApplicationError, TooManyRequests
from nemkonto.problems import PROBLEM_CONTENT_TYPE, problem_body


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested errors as a flat list with field paths like ``payments[3].recipient.id``."""
    if isinstance(detail, dict):
        errors: list[dict[str, str]] = []
        for key, value in detail.items():
            if key == "non_field_errors":
                field = path
            elif isinstance(key, int):
                # DRF reports the items of a nested list serializer as {index: errors}.
                field = f"{path}[{key}]"
            else:
                field = f"{path}.{key}" if path else str(key)
            errors += flatten_errors(value, field)
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            return [
                {"field": path, "code": str(item.code), "message": str(item)} for item in detail
            ]
        errors = []
        for index, item in enumerate(detail):
            errors += flatten_errors(item, f"{path}[{index}]")
        return errors
    code = getattr(detail, "code", "invalid")
    return [{"field": path, "code": str(code), "message": str(detail)}]


def _response(status_code: int, title: str, detail: str, errors: list[dict[str, str]]) -> Response:
    response = Response(problem_body(status_code, title, detail, errors), status=status_code)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering problem details for every error."""
    if isinstance(exc, ApplicationError):
        problem = _response(exc.status, exc.title, str(exc.message), exc.field_errors())
        if isinstance(exc, TooManyRequests):
            problem["Retry-After"] = str(exc.retry_after)
        return problem
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return _response(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            _title(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
            _("The request body is larger than %(size)d bytes.")
            % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            [],
        )
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        detail = _("The request has errors; see the list of errors.")
        problem = _response(status.HTTP_400_BAD_REQUEST, "Bad request", detail, errors)
    else:
        problem = _response(response.status_code, _title(response.status_code), str(exc.detail), [])
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            problem[header] = response[header]
    return problem


def _title(status_code: int) -> str:
    return HTTPStatus(status_code).phrase
