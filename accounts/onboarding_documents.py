"""The connection request as a printable document (PDF), made like the activation letters."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from accounts.models import ConnectionRequest
from registry.letters import pdf_from_html
from registry.wording import public_url


def connection_request_html(request: ConnectionRequest) -> str:
    requested_by = request.requested_by
    return render_to_string(
        "documents/connection_request.html",
        {
            "request": request,
            "units": list(request.units.order_by("path")),
            "requested_by": requested_by.get_full_name() or requested_by.username,
            "submitted": formats.date_format(
                timezone.localtime(request.submitted_at).date(), "DATE_FORMAT"
            ),
            "decided": formats.date_format(
                timezone.localtime(request.decided_at).date(), "DATE_FORMAT"
            )
            if request.decided_at
            else "",
            "go_live": formats.date_format(request.go_live_on, "DATE_FORMAT"),
            "portal": public_url(),
        },
    )


def connection_request_pdf(request: ConnectionRequest, *, language: str | None = None) -> bytes:
    """The request with its status, for the authority to print, sign and keep."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return pdf_from_html(connection_request_html(request))
