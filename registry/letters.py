"""Activation letters as real documents: HTML from a template, made into PDF by WeasyPrint."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from registry.models import Recipient, StoredAccount
from registry.wording import activation_phone, public_url, standard_wording


@dataclass(frozen=True)
class LetterContent:
    recipient: Recipient
    code: str
    new_account: StoredAccount
    current_account: StoredAccount | None
    authority_name: str
    expires_at: datetime.datetime
    written_at: datetime.datetime


def addressee(recipient: Recipient) -> str:
    """The address block, as the register has it: name, street, postcode and city."""
    lines = [recipient.name, recipient.address, f"{recipient.postcode} {recipient.city}".strip()]
    return "\n".join(line for line in lines if line)


def format_code(code: str) -> str:
    """The code as printed: groups of four digits."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def letter_html(content: LetterContent) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string(
            "registry/activation_letter.html",
            {
                "addressee_lines": addressee(content.recipient).split("\n"),
                "code": format_code(content.code),
                "new_account": content.new_account.masked,
                "new_is_foreign": content.new_account.kind == "foreign",
                "current_account": (
                    content.current_account.masked if content.current_account else None
                ),
                "authority": content.authority_name,
                "expires": formats.date_format(
                    timezone.localtime(content.expires_at).date(), "DATE_FORMAT"
                ),
                "written": formats.date_format(
                    timezone.localtime(content.written_at).date(), "DATE_FORMAT"
                ),
                "phone": activation_phone(),
                "portal": public_url(),
                "standard_wording": standard_wording(),
            },
        )


def pdf_from_html(html: str) -> bytes:
    """An HTML document (a letter or form template) as PDF, with WeasyPrint."""
    from weasyprint import HTML  # imported here: it loads Pango, which takes a moment

    pdf = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def letter_pdf(content: LetterContent) -> bytes:
    """The letter as a PDF document."""
    return pdf_from_html(letter_html(content))
