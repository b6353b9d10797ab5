"""RFC 9457 problem details, the one error shape of every JSON endpoint (API.md)."""

from typing import Any

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_body(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The problem document: type, title, status, detail and the per-field errors."""
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }


def problem_response(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> JsonResponse:
    """A JsonResponse carrying a problem document with the problem+json content type."""
    return JsonResponse(
        problem_body(status, title, detail, errors),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
