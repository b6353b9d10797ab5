"""Forms of the citizen pages: an account (Danish or IBAN) and the activation code.

The account is checked with the registry's own parser (``registry.identifiers.parse_account``),
so the form shows the same errors the services would raise, before the confirmation step; the
service checks it again when the change is confirmed.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from nemkonto.errors import ApplicationError
from registry.identifiers import IdentifierError, parse_account
from registry.models import StoredAccount

DANISH = "danish"
IBAN = "iban"
FIELDS_BY_KIND = {DANISH: ("reg", "number"), IBAN: ("iban", "bic")}


class AccountForm(forms.Form):
    """A new account: reg.nr. and account number, or IBAN (and BIC for a foreign account)."""

    kind = forms.ChoiceField(
        label=_("Kind of account"),
        choices=[
            (DANISH, _("Danish account: registration number and account number")),
            (IBAN, _("IBAN: a foreign account, or a Danish account given as IBAN")),
        ],
        initial=DANISH,
        widget=forms.RadioSelect,
    )
    reg = forms.CharField(
        label=_("Registration number (reg.nr.)"),
        help_text=_("4 digits. For a Danish account."),
        max_length=4,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    number = forms.CharField(
        label=_("Account number"),
        help_text=_("Up to 10 digits. For a Danish account."),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    iban = forms.CharField(
        label=_("IBAN"),
        help_text=_("For example DE89 3704 0044 0532 0130 00. Spaces are allowed."),
        max_length=42,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    bic = forms.CharField(
        label=_("BIC (SWIFT code)"),
        help_text=_("8 or 11 letters and digits. Needed for a foreign account."),
        max_length=11,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    account: StoredAccount

    def account_input(self) -> dict[str, str]:
        """The fields of the chosen kind, as the services take them (the others are ignored)."""
        kind = self.cleaned_data.get("kind") or DANISH
        return {name: self.cleaned_data.get(name) or "" for name in FIELDS_BY_KIND[kind]}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            self.account = StoredAccount.from_parsed(parse_account(**self.account_input()))
        except IdentifierError as error:
            self.add_error(self._field(error.field), str(error))
        return cleaned

    def add_service_error(self, error: ApplicationError) -> None:
        """A refusal of the service, on the field it names (``account.reg`` -> ``reg``)."""
        self.add_error(self._field((error.field or "").rsplit(".", 1)[-1]), str(error))

    def _field(self, name: str) -> str | None:
        return name if name in self.fields else None


class ActivationCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Activation code"),
        max_length=20,
        help_text=_("The 8 digits in the letter about your new NemKonto."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
