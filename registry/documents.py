"""Documents for recipients, beside the activation letter (``registry.letters``), made into PDF
the same way:

- the cheque information sheet, sent with a payment paid by cheque (the failure choice cheque,
  DOMAIN.md section 7): what NemKonto is and how to get one, with the standard wording;
- the documentation form a recipient signs at the counter when a caseworker reports their
  NemKonto (DOMAIN.md section 4), kept by the authority with the case.

Both are written in the active language (Danish unless told otherwise).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.functions import Function
from accounts.models import LosUnit, User
from accounts.selectors import units_for
from payments.models import FailureHandling, Payment
from registry.admin import masked_id
from registry.letters import addressee, pdf_from_html
from registry.models import ActivationLetter, NemKonto, Recipient
from registry.selectors import nemkonto_at
from registry.wording import activation_phone, public_url, standard_wording


def _today() -> str:
    return formats.date_format(timezone.localdate(), "DATE_FORMAT")


def _kroner(amount_ore: int | None) -> str:
    if amount_ore is None:
        return ""
    amount = formats.number_format(Decimal(amount_ore) / 100, 2, use_l10n=True, force_grouping=True)
    return _("%(amount)s kr.") % {"amount": amount}


@dataclass(frozen=True)
class ChequeSheet:
    addressee_lines: list[str]
    authority: str
    amount: str
    text: str
    value_date: str
    reference: str


def is_cheque(payment: Payment) -> bool:
    """Whether the payment was (or will be) sent to the recipient as a cheque."""
    return payment.failure_handling == FailureHandling.CHEQUE


def _sheet(payment: Payment, recipient: Recipient | None) -> ChequeSheet:
    if recipient is not None:
        lines = addressee(recipient).split("\n")
    else:
        lines = [payment.recipient_raw or payment.recipient_number]
    return ChequeSheet(
        addressee_lines=lines,
        authority=payment.authority.name,
        amount=_kroner(payment.amount_ore),
        text=payment.text,
        value_date=formats.date_format(payment.value_date, "DATE_FORMAT"),
        reference=payment.reference,
    )


def cheque_information_html(payments: Iterable[Payment]) -> str:
    """The information sheets of the payments (one page each), as HTML."""
    chosen = [payment for payment in payments if is_cheque(payment)]
    recipients = Recipient.objects.in_bulk(
        [p.recipient_id for p in chosen if p.recipient_id is not None]
    )
    return render_to_string(
        "documents/cheque_information.html",
        {
            "sheets": [
                _sheet(p, recipients.get(p.recipient_id) if p.recipient_id else None)
                for p in chosen
            ],
            "written": _today(),
            "portal": public_url(),
            "phone": activation_phone(),
            "standard_wording": standard_wording(),
        },
    )


def cheque_information_pdf(payments: Iterable[Payment], *, language: str | None = None) -> bytes:
    """The cheque information sheets for the cheque payments among ``payments`` (one page per
    payment, addressed as the register has the recipient), as one PDF for the cheque order.

    Raises ValueError when none of them is a cheque payment.
    """
    payments = list(payments)
    if not any(is_cheque(payment) for payment in payments):
        raise ValueError("none of the payments was sent as a cheque")
    with translation.override(language or settings.LANGUAGE_CODE):
        return pdf_from_html(cheque_information_html(payments))


def _units_of(caseworker: User) -> str:
    """The caseworker's LOS units for reporting NemKonti: the top units of their grants."""
    units = list(units_for(user=caseworker, function=Function.UPDATE_NEMKONTO).order_by("path"))
    tops: list[LosUnit] = []
    for unit in units:
        if not any(unit.path.startswith(top.path) for top in tops):
            tops.append(unit)
    return ", ".join(str(unit) for unit in tops)


def documentation_form_html(*, letter: ActivationLetter, caseworker: User) -> str:
    version: NemKonto = letter.nemkonto
    recipient = version.recipient
    current = nemkonto_at(recipient=recipient)
    reported = timezone.localtime(version.created_at).date()
    return render_to_string(
        "documents/documentation_form.html",
        {
            "recipient_name": recipient.name,
            "id_label": recipient.get_id_type_display(),
            "recipient_id": masked_id(recipient),
            "account": version.stored_account.full,
            "current_account": current.masked_account if current else "",
            "reported": formats.date_format(reported, "DATE_FORMAT"),
            "authority": version.authority.name if version.authority else "",
            "units": _units_of(caseworker),
            "caseworker": caseworker.get_full_name() or caseworker.username,
            "phone": activation_phone(),
            "portal": public_url(),
            "standard_wording": standard_wording(),
        },
    )


def documentation_form_pdf(
    *, letter: ActivationLetter, caseworker: User, language: str | None = None
) -> bytes:
    """The form the recipient signs for a NemKonto a caseworker reported (the change the
    activation letter is for): the recipient with a masked ID, the account, who reported it."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return pdf_from_html(documentation_form_html(letter=letter, caseworker=caseworker))
