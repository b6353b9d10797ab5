"""Server-rendered pages of the citizen and caseworker portal."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from nemkonto.errors import ApplicationError
from registry.services import activation_activate_own


def home(request: HttpRequest) -> HttpResponse:
    """The front page: what NemKonto is and where each kind of user goes next."""
    return render(request, "portal/home.html")


def about(request: HttpRequest) -> HttpResponse:
    """Information about NemKonto: the page the standard wording in letters points to."""
    crumbs = [(reverse("portal:home"), _("Front page")), ("", _("About NemKonto"))]
    return render(request, "portal/about.html", {"crumbs": crumbs})


class ActivationCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Activation code"),
        max_length=20,
        help_text=gettext_lazy("The 8 digits in the letter about your new NemKonto."),
    )


@login_required
def activate(request: HttpRequest) -> HttpResponse:
    """ "Activate with code": the recipient of an activation letter puts a caseworker's change of
    their NemKonto in force (the same service as the phone menu)."""
    form = ActivationCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert isinstance(request.user, User)
        try:
            version = activation_activate_own(actor=request.user, code=form.cleaned_data["code"])
        except ApplicationError as error:
            form.add_error("code", str(error))
        else:
            messages.success(
                request,
                _("Your new NemKonto %(account)s is now in force.")
                % {"account": version.masked_account},
            )
            return redirect("portal:home")
    crumbs = [(reverse("portal:home"), _("Front page")), ("", _("Activate with code"))]
    return render(request, "portal/activate.html", {"form": form, "crumbs": crumbs})
