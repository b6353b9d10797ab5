"""Forms of the administration pages. The services check and refuse; a refusal is shown on the
field it names (``show_error``), and nothing is changed."""

import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import LosUnit, RoleProfile, User
from nemkonto.errors import ApplicationError


def show_error(form: forms.Form, error: ApplicationError) -> None:
    """A service's refusal on the form: on the field it names, else above the form."""
    field = (error.field or "").split(".")[-1]
    form.add_error(field if field in form.fields else None, str(error))


class BenefitCreateForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=30,
        help_text=_(
            "What the payment systems send, for example BOERNECHECK. It cannot be changed."
        ),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    is_active = forms.BooleanField(label=_("Active: payments may name the benefit"), required=False)


class BenefitUpdateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    is_active = forms.BooleanField(label=_("Active: payments may name the benefit"), required=False)


class _UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        depth = max(obj.path.count("/") - 2, 0)
        return f"{'· ' * depth}{obj.code} {obj.name}"


class _ProfileChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}: {obj.description}" if obj.description else str(obj.name)


class GrantForm(forms.Form):
    """A role profile on a LOS unit (and the units below it)."""

    role_profile = _ProfileChoice(
        label=_("Role profile"),
        queryset=RoleProfile.objects.none(),
        empty_label=_("Choose a role profile"),
    )
    unit = _UnitChoice(
        label=_("LOS unit"),
        queryset=LosUnit.objects.none(),
        empty_label=_("Choose a LOS unit"),
        help_text=_("The profile also applies to the units below the one chosen."),
    )

    def __init__(
        self,
        *args: Any,
        profiles: QuerySet[RoleProfile],
        units: QuerySet[LosUnit],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role_profile"].queryset = profiles  # type: ignore[attr-defined]
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class EmployeeCreateForm(GrantForm):
    """A new caseworker of the authority, optionally with a first role profile."""

    username = forms.CharField(
        label=_("User ID"),
        max_length=150,
        help_text=_("The employee's identifier from MitID Erhverv, used when they log in."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("Email"), required=False)

    field_order = ["username", "first_name", "last_name", "email", "role_profile", "unit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role_profile"].required = False
        self.fields["unit"].required = False
        self.fields["role_profile"].help_text = _(
            "Optional: more profiles can be granted on the user's page."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        profile, unit = data.get("role_profile"), data.get("unit")
        if profile and not unit and "unit" not in self.errors:
            self.add_error("unit", _("Choose the LOS unit for the role profile."))
        if unit and not profile and "role_profile" not in self.errors:
            self.add_error("role_profile", _("Choose the role profile for the LOS unit."))
        return data


class EmployeeSearchForm(forms.Form):
    q = forms.CharField(label=_("Search by name, user ID or email"), required=False, max_length=100)


class ReadinessConfirmForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example where the procedure is described."),
    )


UNUSED_DAYS = ((30, _("30 days")), (90, _("90 days")), (180, _("180 days")), (365, _("a year")))


class UnusedGrantsForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Not logged in for at least"), choices=UNUSED_DAYS, coerce=int, initial=90
    )


def _default_from() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=30)


class PeriodForm(forms.Form):
    """A period of days (both included); the last 30 days unless told otherwise."""

    date_from = forms.DateField(
        label=_("From"),
        required=False,
        input_formats=["%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        input_formats=["%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["date_from"] = data.get("date_from") or _default_from()
        data["date_to"] = data.get("date_to") or timezone.localdate()
        if data["date_to"] < data["date_from"] and "date_to" not in self.errors:
            self.add_error("date_to", _("The period ends before it begins."))
        elif (data["date_to"] - data["date_from"]).days > 366:
            self.add_error("date_to", _("Choose a period of at most one year."))
        return data


class ChangesForm(PeriodForm):
    user = forms.ModelChoiceField(
        label=_("User"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("All users"),
    )

    def __init__(self, *args: Any, users: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]
