"""Printable documents for caseworkers (PDF): the cheque information sheet of a payment sent as
a cheque, and the documentation form a recipient signs when a caseworker reports their NemKonto.
Each answers 404 to those who may not see what it is about."""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override

from accounts.functions import Function
from accounts.models import User
from nemkonto.errors import NotFound
from nemkonto.pdf_response import pdf_response
from payments.payment_selectors import payment_get
from portal.access import function_required
from portal.caseworker.selectors import letter_for_author
from registry.documents import cheque_information_pdf, documentation_form_pdf, is_cheque

SEARCH_FUNCTIONS = (Function.SEARCH_PENDING_PAYMENTS, Function.SEARCH_COMPLETED_PAYMENTS)

# The site's policy forbids plugins (object-src 'none'), which would keep the browser's PDF viewer
# from showing the document to print: these responses allow only themselves as the document.
pdf_policy = csp_override(
    {"default-src": [CSP.NONE], "object-src": [CSP.SELF], "frame-ancestors": [CSP.NONE]}
)


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # function_required let only employees through
    return request.user


@function_required(*SEARCH_FUNCTIONS)
@pdf_policy
def cheque_information(request: HttpRequest, payment_id: int) -> HttpResponse:
    """The information sheet sent with a payment paid by cheque."""
    try:
        payment = payment_get(actor=_actor(request), payment_id=payment_id)
    except NotFound:
        raise Http404 from None
    if not is_cheque(payment):
        raise Http404
    pdf = cheque_information_pdf([payment], language=request.LANGUAGE_CODE)
    return pdf_response(request, pdf, f"checkinformation-{payment.pk}.pdf")


@function_required(Function.UPDATE_NEMKONTO)
@pdf_policy
def documentation_form(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The form the recipient signs for the NemKonto the caseworker just reported (while its
    activation letter is the caseworker's to print)."""
    actor = _actor(request)
    try:
        letter = letter_for_author(actor=actor, letter_id=letter_id)
    except NotFound:
        raise Http404 from None
    pdf = documentation_form_pdf(letter=letter, caseworker=actor, language=request.LANGUAGE_CODE)
    return pdf_response(request, pdf, f"dokumentation-nemkonto-{letter.pk}.pdf")
