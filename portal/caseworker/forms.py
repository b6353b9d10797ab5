"""Forms of the caseworker pages. They check what a person can correct on the spot (a missing
field, a malformed account, with the account form the citizen pages use); the services check the
rest, and their refusals are shown on the field they name (``add_service_error``), so a refused
form writes nothing."""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from nemkonto.errors import ApplicationError
from payments.models import Benefit
from portal.citizen.forms import DANISH, IBAN, AccountForm
from registry.identifiers import IdKind
from registry.models import AccountKind, SpecificAccount


def add_service_error(
    form: forms.Form, error: ApplicationError, fields: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal on the form field it names (the last part of ``account.reg``,
    renamed through ``fields``), or above the form when it names none of the form's fields."""
    name = (error.field or "").rsplit(".", 1)[-1]
    name = (fields or {}).get(name, name)
    form.add_error(name if name in form.fields else None, str(error))


class LookupForm(forms.Form):
    id_type = forms.ChoiceField(
        label=_("Type of ID"), choices=IdKind.choices, initial=IdKind.CPR, widget=forms.RadioSelect
    )
    id_number = forms.CharField(
        label=_("CPR, CVR, P or SE number"),
        max_length=20,
        help_text=_("For example 010190-1234 or 12345678."),
    )
    purpose = forms.CharField(
        label=_("Purpose of the look-up"),
        max_length=200,
        help_text=_(
            "Why you look the recipient up, for example the case number. Every look-up of a "
            "person is logged, and the person can see who looked them up and why."
        ),
        error_messages={
            "required": _("Say why you look the recipient up (purpose): every look-up is logged.")
        },
    )

    # The service's field names (``type``, ``id``, ``purpose``) on this form.
    SERVICE_FIELDS = {"type": "id_type", "id": "id_number"}


class SpecificAccountForm(AccountForm):
    """A specific account's account, lock and end date."""

    locked = forms.BooleanField(
        label=_("Locked: only the authority can change or delete the account"),
        required=False,
        help_text=_("For example a capital pension with creditor protection."),
    )
    end_date = forms.DateField(
        label=_("End date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_(
            "The account is removed after this day, and the benefit is paid to the NemKonto "
            "again. Leave it empty for no end date."
        ),
    )

    @classmethod
    def initial_for(cls, version: SpecificAccount) -> dict[str, Any]:
        """The form filled in with the account on record."""
        account = version.stored_account
        return {
            "kind": DANISH if account.kind == AccountKind.DANISH else IBAN,
            **account.as_api(),
            "locked": version.locked,
            "end_date": version.end_date,
        }


class SpecificAccountCreateForm(SpecificAccountForm):
    """A new specific account: also which of the authority's benefits it is for."""

    benefit = forms.ChoiceField(label=_("Benefit"))

    field_order = ["benefit", "kind", "reg", "number", "iban", "bic", "locked", "end_date"]

    def __init__(self, *args: Any, benefits: list[Benefit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["benefit"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _("Choose a benefit")),
            *((b.code, f"{b.name} ({b.code})") for b in benefits),
        ]
