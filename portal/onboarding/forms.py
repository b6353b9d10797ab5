"""Forms of the onboarding pages. The connection request's domain checks are the service's own
(``connection_request_clean``), run in ``clean`` so that their errors show on the form."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Authority, Bank, ConnectionRequest, LosUnit, RoleProfile, User
from accounts.onboarding import failure_choices, waiting_fallback_choices
from accounts.onboarding_services import (
    CONNECTION_REQUEST_FIELDS,
    ConnectionRequestData,
    RequestedGrant,
    connection_request_clean,
)
from nemkonto.errors import ApplicationError
from payments.models import ConnectionAgreement, PaymentSystem
from portal.caseworker.forms import add_service_error

NEW, EXISTING = "new", "existing"
CONNECTION_CHOICES = [
    (EXISTING, _("Already connected for other authorities: it is only activated for us")),
    (NEW, _("New to NemKonto: it is adapted to the interface and tested first")),
]


def connected_systems() -> QuerySet[PaymentSystem]:
    """Payment systems active for at least one authority."""
    return PaymentSystem.objects.filter(
        agreements__status=ConnectionAgreement.Status.ACTIVE
    ).distinct()


class ConnectionKindForm(forms.Form):
    """Step 1: is the payment system already connected for other authorities?"""

    connection = forms.ChoiceField(
        label=_("Is the payment system already connected to NemKonto?"),
        choices=CONNECTION_CHOICES,
        widget=forms.RadioSelect,
    )


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ConnectionRequestForm(forms.Form):
    """Step 2: the request itself; the fields of the system depend on ``connection``."""

    connection = forms.ChoiceField(choices=CONNECTION_CHOICES, widget=forms.HiddenInput)
    payment_system = forms.ModelChoiceField(
        label=_("Payment system"),
        queryset=PaymentSystem.objects.none(),
        empty_label=_("Choose the system"),
    )
    system_name = forms.CharField(label=_("Name of the payment system"), max_length=200)
    system_vendor = forms.CharField(
        label=_("Vendor"), max_length=200, required=False, help_text=_("Who supplies the system.")
    )
    units = forms.ModelMultipleChoiceField(
        label=_("LOS units that will pay through the system"),
        queryset=LosUnit.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    bank = forms.ModelChoiceField(
        label=_("The authority's bank"), queryset=Bank.objects.all(), empty_label=_("Choose")
    )
    bank_agreement_number = forms.CharField(
        label=_("Bank agreement number"),
        max_length=20,
        help_text=_(
            "The pengeinstitutaftalenummer from the bank, which every payment carries: letters, "
            "digits and '-'."
        ),
    )
    disbursement_reg = forms.CharField(
        label=_("Disbursement account: reg.nr."),
        max_length=4,
        required=False,
        help_text=_("Only for a bank agreement NemKonto does not know yet."),
    )
    disbursement_number = forms.CharField(
        label=_("Disbursement account: account number"), max_length=10, required=False
    )
    failure_choice = forms.ChoiceField(
        label=_("Payments that cannot be completed (the recipient has no account)"),
        choices=failure_choices,
        widget=forms.RadioSelect,
    )
    waiting_fallback = forms.ChoiceField(
        label=_("With the waiting account: what happens after the longest wait"),
        choices=waiting_fallback_choices,
        initial=ConnectionAgreement.WaitingFallback.RETURN,
        widget=forms.RadioSelect,
    )
    error_account_reg = forms.CharField(
        label=_("Error account: reg.nr."),
        max_length=4,
        required=False,
        help_text=_("Only with the failure choice error account, for example a KUB account."),
    )
    error_account_number = forms.CharField(
        label=_("Error account: account number"), max_length=10, required=False
    )
    go_live_on = forms.DateField(
        label=_("Planned go-live date"),
        help_text=_("A bank day from which the authority pays through NemKonto."),
        widget=_date_input(),
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=200)
    contact_email = forms.EmailField(label=_("Contact person's e-mail"))
    contact_phone = forms.CharField(label=_("Contact person's phone"), max_length=30)
    technical_name = forms.CharField(label=_("Technical contact"), max_length=200)
    technical_email = forms.EmailField(label=_("Technical contact's e-mail"))
    technical_phone = forms.CharField(label=_("Technical contact's phone"), max_length=30)

    def __init__(self, *args: Any, authority: Authority, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.authority = authority
        self.fields["payment_system"].queryset = connected_systems()  # type: ignore[attr-defined]
        self.fields["units"].queryset = LosUnit.objects.filter(  # type: ignore[attr-defined]
            authority=authority, closed_at__isnull=True
        ).order_by("path")
        # Only the fields of the kind of connection chosen in step 1.
        drop = ("system_name", "system_vendor") if not self.is_new else ("payment_system",)
        for name in drop:
            del self.fields[name]

    @property
    def is_new(self) -> bool:
        value = self.data.get("connection") if self.is_bound else self.initial.get("connection")
        return value == NEW

    @classmethod
    def initial_from(cls, request: ConnectionRequest) -> dict[str, Any]:
        """The form filled in from a stored (returned) request, to correct it."""
        initial: dict[str, Any] = {
            name: getattr(request, name) for name in CONNECTION_REQUEST_FIELDS
        }
        initial["connection"] = NEW if request.new_system else EXISTING
        initial["units"] = list(request.units.all())
        return initial

    def request_data(self) -> ConnectionRequestData:
        data = self.cleaned_data
        return ConnectionRequestData(
            new_system=self.is_new,
            payment_system=data.get("payment_system"),
            system_name=data.get("system_name", ""),
            system_vendor=data.get("system_vendor", ""),
            units=list(data.get("units") or []),
            bank=data.get("bank"),
            bank_agreement_number=data.get("bank_agreement_number", ""),
            disbursement_reg=data.get("disbursement_reg", ""),
            disbursement_number=data.get("disbursement_number", ""),
            failure_choice=data.get("failure_choice", ""),
            waiting_fallback=data.get("waiting_fallback") or "return",
            error_account_reg=data.get("error_account_reg", ""),
            error_account_number=data.get("error_account_number", ""),
            go_live_on=data.get("go_live_on"),
            contact_name=data.get("contact_name", ""),
            contact_email=data.get("contact_email", ""),
            contact_phone=data.get("contact_phone", ""),
            technical_name=data.get("technical_name", ""),
            technical_email=data.get("technical_email", ""),
            technical_phone=data.get("technical_phone", ""),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        data = self.request_data()
        try:
            connection_request_clean(authority=self.authority, data=data)
        except ApplicationError as error:
            add_service_error(self, error)
        else:
            self.data_checked = data
        return cleaned


# --- User requests ----------------------------------------------------------------------------

LINE_ROWS = 4


class UserRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What do you ask for?"),
        choices=[
            ("create", _("Create a new user")),
            ("change", _("Change the role profiles of a user")),
        ],
        widget=forms.RadioSelect,
    )
    user = forms.ModelChoiceField(
        label=_("The user to change"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Choose (only to change a user)"),
    )
    username = forms.CharField(
        label=_("Username of the new user"),
        max_length=150,
        required=False,
        help_text=_("The user logs in with MitID Erhverv; the username identifies them here."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    note = forms.CharField(
        label=_("Note to the NemKonto service"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )

    def __init__(self, *args: Any, authority: Authority, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.authority = authority
        self.fields["user"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            kind=User.Kind.EMPLOYEE, authority=authority
        ).order_by("username")
        units = LosUnit.objects.filter(authority=authority, closed_at__isnull=True).order_by("path")
        profiles = RoleProfile.objects.order_by("name")
        for row in range(LINE_ROWS):
            self.fields[f"line{row}_profile"] = forms.ModelChoiceField(
                label=_("Role profile (row %(row)d)") % {"row": row + 1},
                queryset=profiles,
                required=False,
                empty_label="-",
            )
            self.fields[f"line{row}_unit"] = forms.ModelChoiceField(
                label=_("LOS unit (row %(row)d)") % {"row": row + 1},
                queryset=units,
                required=False,
                empty_label="-",
            )
            self.fields[f"line{row}_action"] = forms.ChoiceField(
                label=_("Grant or revoke (row %(row)d)") % {"row": row + 1},
                choices=[("grant", _("Grant")), ("revoke", _("Revoke"))],
                initial="grant",
                required=False,
            )

    def line_rows(self) -> list[tuple[Any, Any, Any]]:
        """The rows of role profile, LOS unit and action, for the template."""
        return [
            (self[f"line{row}_profile"], self[f"line{row}_unit"], self[f"line{row}_action"])
            for row in range(LINE_ROWS)
        ]

    def lines(self) -> list[RequestedGrant]:
        found = []
        for row in range(LINE_ROWS):
            profile = self.cleaned_data.get(f"line{row}_profile")
            unit = self.cleaned_data.get(f"line{row}_unit")
            if profile and unit:
                action = self.cleaned_data.get(f"line{row}_action") or "grant"
                found.append(RequestedGrant(action=action, role_profile=profile, unit=unit))
        return found

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for row in range(LINE_ROWS):
            profile = cleaned.get(f"line{row}_profile")
            unit = cleaned.get(f"line{row}_unit")
            if bool(profile) != bool(unit):
                missing = f"line{row}_unit" if profile else f"line{row}_profile"
                self.add_error(missing, _("Give both the role profile and the LOS unit."))
        return cleaned
