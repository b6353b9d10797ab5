"""The one way a PDF leaves the site: shown in the browser to print, or downloaded with
``?download``; never cached (every document carries personal or agreement data)."""

from django.http import HttpRequest, HttpResponse


def pdf_response(request: HttpRequest, pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if "download" in request.GET else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
