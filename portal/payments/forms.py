"""Forms of the caseworker payment pages: the search (a GET form) and the stop confirmation."""

import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.models import PaymentStatus
from registry.identifiers import IdKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y"]

# Short labels for the return codes' select (the full meanings are on the payment's page).
RETURN_CODE_LABELS = (
    ("0", _("0: accepted")),
    ("1", _("1: recipient ID does not exist")),
    ("2", _("2: formal error")),
    ("7", _("7: no account")),
    ("8", _("8: received by the bank")),
    ("9", _("9: error in the bank")),
)


class AmountField(forms.CharField):
    """An amount in kroner, Danish or international notation ("1.234,50", "1234.50"), in øre."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    def clean(self, value: Any) -> int | None:
        text = str(super().clean(value) or "").replace(" ", "")
        if not text:
            return None
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise forms.ValidationError(
                _("Give an amount in kroner with at most two decimals, for example 1234,50."),
                code="invalid",
            )
        return int(amount * 100)


def _date_field(label: "StrOrPromise") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Give a date as dd-mm-yyyy.")},
    )


class PaymentSearchForm(forms.Form):
    """The filters of the caseworker payment search (``payments.payment_selectors.payment_search``
    and an amount range); every field optional, bad values named on their field."""

    recipient = forms.CharField(
        label=_("Recipient (CPR, CVR, P or SE number)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    recipient_type = forms.ChoiceField(
        label=_("Type of recipient ID"),
        choices=[("", _("Any type")), *IdKind.choices],
        required=False,
    )
    purpose = forms.CharField(
        label=_("Purpose of the search"),
        max_length=200,
        required=False,
        help_text=_(
            "Required when you search for a recipient: every search for a person is logged."
        ),
    )
    reference = forms.CharField(label=_("Payer's reference"), max_length=35, required=False)
    batch = forms.UUIDField(
        label=_("Batch id"),
        required=False,
        error_messages={"invalid": _("Give the batch id as it appears on the payment's page.")},
    )
    amount_from = AmountField(label=_("Amount from (kr.)"), required=False)
    amount_to = AmountField(label=_("Amount to (kr.)"), required=False)
    received_from = _date_field(_("Received from"))
    received_to = _date_field(_("Received to"))
    value_date_from = _date_field(_("Value date from"))
    value_date_to = _date_field(_("Value date to"))
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Any status")), *PaymentStatus.choices],
        required=False,
    )
    return_code = forms.TypedChoiceField(
        label=_("Return code"),
        choices=[("", _("Any return code")), *RETURN_CODE_LABELS],
        coerce=int,
        empty_value=None,
        required=False,
    )

    RANGES = (
        ("amount_from", "amount_to"),
        ("received_from", "received_to"),
        ("value_date_from", "value_date_to"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("recipient"):
            if not (data.get("purpose") or "").strip() and "purpose" not in self.errors:
                self.add_error(
                    "purpose",
                    forms.ValidationError(
                        _("Say why you search for the recipient: every search is logged."),
                        code="required",
                    ),
                )
        elif data.get("recipient_type"):
            self.add_error(
                "recipient",
                forms.ValidationError(_("Give the number of the recipient."), code="required"),
            )
        for low_name, high_name in self.RANGES:
            low, high = data.get(low_name), data.get(high_name)
            if low is not None and high is not None and high < low:
                self.add_error(
                    high_name,
                    forms.ValidationError(
                        _("The end of the range is before its start."), code="invalid_range"
                    ),
                )
        return data

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as ``payment_search`` takes them (the amount range apart)."""
        data = self.cleaned_data
        dates: dict[str, datetime.date | None] = {
            name: data.get(name)
            for name in ("received_from", "received_to", "value_date_from", "value_date_to")
        }
        return {
            "recipient": data.get("recipient") or None,
            "recipient_type": data.get("recipient_type") or None,
            "purpose": data.get("purpose") or None,
            "reference": data.get("reference") or None,
            "batch_id": data.get("batch"),
            "status": data.get("status") or None,
            "return_code": data.get("return_code"),
            **dates,
        }


# The selector's names for the fields it checks, where they differ from the form's.
SELECTOR_FIELDS = {"batch_id": "batch"}


class PaymentStopForm(forms.Form):
    """The confirmation of a stop: which payments, why, and that the caseworker means it."""

    payment = forms.TypedMultipleChoiceField(
        label=_("Payments"),
        coerce=int,
        widget=forms.MultipleHiddenInput,
        choices=(),
        error_messages={
            "required": _("Choose at least one payment to stop."),
            "invalid_choice": _("Payment %(value)s is not among the payments you may see."),
        },
    )
    reason = forms.CharField(
        label=_("Reason for the stop"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Saved with the stop, so that colleagues can see why the payment was stopped."),
        error_messages={"required": _("Give the reason for the stop.")},
    )
    confirm = forms.BooleanField(
        label=_("I confirm that the payments shall not be paid"),
        error_messages={"required": _("Confirm the stop by ticking the box.")},
    )

    def __init__(self, *args: Any, payment_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["payment"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(str(pk), str(pk)) for pk in payment_ids]
