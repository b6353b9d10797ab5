"""The caseworker pages: thin views over the registry's services and selectors, the same ones
the REST API calls. A page the user's role profiles do not allow answers 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.csp import csp_override

from accounts.functions import Function
from accounts.models import RoleProfile, User
from accounts.role_profiles import STANDARD_BY_CODE
from nemkonto.errors import ApplicationError, NotFound
from nemkonto.pdf_response import pdf_response
from payments.selectors import benefit_list
from portal.access import function_required, functions_of, has_function
from portal.caseworker.forms import (
    LookupForm,
    SpecificAccountCreateForm,
    SpecificAccountForm,
    add_service_error,
)
from portal.caseworker.looked_up import LookedUp, looked_up, looked_up_list, remember
from portal.caseworker.selectors import letter_for_author, own_grants
from portal.citizen.forms import AccountForm
from registry.models import ActivationLetter, NemKonto, SpecificAccount
from registry.selectors import (
    nemkonto_at,
    nemkonto_waiting_at,
    specific_account_get_for_caseworker,
    specific_account_list,
)
from registry.services import (
    nemkonto_change_by_caseworker,
    specific_account_create,
    specific_account_delete,
    specific_account_update,
)
from registry.services.activation import max_attempts
from registry.services.common import is_employee
from registry.services.resolve import recipient_lookup_by_caseworker
from registry.wording import activation_phone, standard_wording

LOOKUP_FUNCTIONS = (Function.UPDATE_NEMKONTO, Function.UPDATE_SPECIFIC_ACCOUNTS)


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _crumbs(*trail: tuple[str, str]) -> list[tuple[str, str]]:
    """Breadcrumbs from the front page through the caseworker home to ``trail``."""
    return [
        (reverse("portal:home"), _("Front page")),
        (reverse("portal:caseworker:home"), _("Caseworker")),
        *trail,
    ]


def _recipient_crumb(entry: LookedUp) -> tuple[str, str]:
    return reverse("portal:caseworker:recipient", args=[entry.recipient.pk]), entry.recipient.name


# --- Home and look-up ---------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What the caseworker may do, from their role profiles on their units."""
    if not is_employee(request.user):
        raise Http404
    actor = _actor(request)
    functions = functions_of(actor)
    context = {
        "grants": [
            (grant, _profile_description(grant.role_profile)) for grant in own_grants(user=actor)
        ],
        "functions": [function for function in Function if function in functions],
        "may_look_up": any(function in functions for function in LOOKUP_FUNCTIONS),
        "may_update_nemkonto": Function.UPDATE_NEMKONTO in functions,
        "may_update_specific": Function.UPDATE_SPECIFIC_ACCOUNTS in functions,
        "crumbs": [(reverse("portal:home"), _("Front page")), ("", _("Caseworker"))],
        "section": "caseworker_home",
    }
    return render(request, "portal/caseworker/home.html", context)


def _profile_description(profile: RoleProfile) -> str:
    """What a role profile allows: the standard profiles' texts are translated."""
    standard = STANDARD_BY_CODE.get(profile.code) if profile.is_standard else None
    return str(standard.description) if standard is not None else profile.description


@function_required(*LOOKUP_FUNCTIONS)
def lookup(request: HttpRequest) -> HttpResponse:
    """Look a recipient up by CPR, CVR, P or SE number with a stated purpose (logged)."""
    form = LookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            found = recipient_lookup_by_caseworker(
                actor=_actor(request),
                id_type=form.cleaned_data["id_type"],
                id_number=form.cleaned_data["id_number"],
                purpose=form.cleaned_data["purpose"],
            )
        except ApplicationError as error:
            add_service_error(form, error, LookupForm.SERVICE_FIELDS)
        else:
            assert found.recipient is not None
            remember(request, found.recipient, form.cleaned_data["purpose"])
            return redirect("portal:caseworker:recipient", pk=found.recipient.pk)
    context = {
        "form": form,
        "recent": looked_up_list(request),
        "crumbs": _crumbs(("", _("Look up a recipient"))),
        "section": "recipients",
    }
    return render(request, "portal/caseworker/lookup.html", context)


@function_required(*LOOKUP_FUNCTIONS)
def recipient(request: HttpRequest, pk: int) -> HttpResponse:
    """A looked-up recipient: the NemKonto (with the NemKonto function) and the authority's
    specific accounts (with the specific-accounts function)."""
    actor = _actor(request)
    entry = looked_up(request, pk)
    may_update_nemkonto = has_function(actor, Function.UPDATE_NEMKONTO)
    may_update_specific = has_function(actor, Function.UPDATE_SPECIFIC_ACCOUNTS)
    context: dict[str, object] = {
        "entry": entry,
        "recipient": entry.recipient,
        "may_update_nemkonto": may_update_nemkonto,
        "may_update_specific": may_update_specific,
        "crumbs": _crumbs(
            (reverse("portal:caseworker:lookup"), _("Look up a recipient")),
            ("", entry.recipient.name),
        ),
        "section": "recipients",
    }
    if may_update_nemkonto:
        waiting = nemkonto_waiting_at(recipient=entry.recipient)
        context["nemkonto"] = nemkonto_at(recipient=entry.recipient)
        context["waiting"] = waiting
        context["own_letter"] = _own_letter(actor, waiting)
    if may_update_specific:
        context["specific_accounts"] = specific_account_list(actor=actor, recipient=entry.recipient)
    return render(request, "portal/caseworker/recipient.html", context)


def _own_letter(actor: User, waiting: NemKonto | None) -> ActivationLetter | None:
    """The letter of a waiting change the caseworker registered, if they may still print it."""
    letter = getattr(waiting, "activation_letter", None) if waiting is not None else None
    if letter is None:
        return None
    try:
        return letter_for_author(actor=actor, letter_id=letter.pk)
    except NotFound:
        return None


# --- NemKonto and the activation letter -----------------------------------------------------------


@function_required(Function.UPDATE_NEMKONTO)
def nemkonto_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Register a new NemKonto at the recipient's request: the form, a confirmation of what
    will happen, then the change (pending until the recipient activates it)."""
    actor = _actor(request)
    entry = looked_up(request, pk)
    form = AccountForm(request.POST or None)
    context = {
        "entry": entry,
        "recipient": entry.recipient,
        "form": form,
        "nemkonto": nemkonto_at(recipient=entry.recipient),
        "crumbs": _crumbs(_recipient_crumb(entry), ("", _("New NemKonto"))),
        "section": "recipients",
    }
    step = request.POST.get("step")
    if request.method == "POST" and form.is_valid():
        if step == "confirm":
            try:
                change = nemkonto_change_by_caseworker(
                    actor=actor,
                    id_type=entry.recipient.id_type,
                    id_number=entry.recipient.id_number,
                    account=form.account.as_api(),
                )
            except ApplicationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    _("The new NemKonto %(account)s is registered and waits for activation.")
                    % {"account": change.version.masked_account},
                )
                return redirect("portal:caseworker:letter", letter_id=change.letter.pk)
        elif step != "edit":
            return render(request, "portal/caseworker/nemkonto_confirm.html", context)
    return render(request, "portal/caseworker/nemkonto_form.html", context)


@function_required(Function.UPDATE_NEMKONTO)
def letter(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The activation letter of a change the caseworker just registered: to print or download."""
    try:
        found = letter_for_author(actor=_actor(request), letter_id=letter_id)
    except NotFound:
        raise Http404 from None
    version = found.nemkonto
    entry = looked_up(request, version.recipient_id)
    context = {
        "letter": found,
        "version": version,
        "entry": entry,
        "recipient": entry.recipient,
        "current": nemkonto_at(recipient=entry.recipient),
        "phone": activation_phone(),
        "attempts": max_attempts(),
        "standard_wording": standard_wording(),
        "crumbs": _crumbs(_recipient_crumb(entry), ("", _("Activation letter"))),
        "section": "recipients",
    }
    return render(request, "portal/caseworker/letter.html", context)


# The site's policy forbids plugins (object-src 'none'), which would keep Chromium's PDF viewer
# from showing the letter to print: this response allows only itself as the plugin's document.
@function_required(Function.UPDATE_NEMKONTO)
@csp_override({"default-src": [CSP.NONE], "object-src": [CSP.SELF], "frame-ancestors": [CSP.NONE]})
def letter_pdf(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The letter as PDF: shown in the browser to print, or downloaded with ``?download``."""
    try:
        found = letter_for_author(actor=_actor(request), letter_id=letter_id)
    except NotFound:
        raise Http404 from None
    if not found.pdf:
        raise Http404
    with found.pdf.open("rb") as pdf:
        return pdf_response(request, pdf.read(), f"aktiveringsbrev-{found.pk}.pdf")


# --- Specific accounts --------------------------------------------------------------------------


@function_required(Function.UPDATE_SPECIFIC_ACCOUNTS)
def specific_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Create a specific account for one of the authority's benefits."""
    actor = _actor(request)
    entry = looked_up(request, pk)
    assert actor.authority is not None
    benefits = list(benefit_list(actor=actor, authority=actor.authority).filter(is_active=True))
    form = SpecificAccountCreateForm(request.POST or None, benefits=benefits)
    if request.method == "POST" and form.is_valid():
        try:
            version = specific_account_create(
                actor=actor,
                id_type=entry.recipient.id_type,
                id_number=entry.recipient.id_number,
                benefit_code=form.cleaned_data["benefit"],
                account=form.account.as_api(),
                locked=form.cleaned_data["locked"],
                end_date=form.cleaned_data["end_date"],
            )
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("The specific account for %(benefit)s is created.")
                % {"benefit": version.benefit.name},
            )
            return redirect("portal:caseworker:recipient", pk=pk)
    context = {
        "entry": entry,
        "recipient": entry.recipient,
        "form": form,
        "crumbs": _crumbs(_recipient_crumb(entry), ("", _("New specific account"))),
        "section": "recipients",
    }
    return render(request, "portal/caseworker/specific_form.html", context)


def _specific_account(request: HttpRequest, entry: LookedUp, benefit: str) -> SpecificAccount:
    try:
        return specific_account_get_for_caseworker(
            actor=_actor(request), recipient=entry.recipient, benefit_code=benefit
        )
    except NotFound:
        raise Http404 from None


@function_required(Function.UPDATE_SPECIFIC_ACCOUNTS)
def specific_change(request: HttpRequest, pk: int, benefit: str) -> HttpResponse:
    """Change a specific account's account, lock or end date."""
    entry = looked_up(request, pk)
    current = _specific_account(request, entry, benefit)
    form = SpecificAccountForm(
        request.POST or None, initial=SpecificAccountForm.initial_for(current)
    )
    if request.method == "POST" and form.is_valid():
        try:
            version = specific_account_update(
                actor=_actor(request),
                specific_account=current,
                account=form.account.as_api(),
                locked=form.cleaned_data["locked"],
                end_date=form.cleaned_data["end_date"],
            )
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            if version.pk == current.pk:
                messages.info(request, _("Nothing was changed."))
            else:
                messages.success(
                    request,
                    _("The specific account for %(benefit)s is changed.")
                    % {"benefit": version.benefit.name},
                )
            return redirect("portal:caseworker:recipient", pk=pk)
    context = {
        "entry": entry,
        "recipient": entry.recipient,
        "form": form,
        "specific_account": current,
        "crumbs": _crumbs(
            _recipient_crumb(entry),
            ("", _("Change the account for %(benefit)s") % {"benefit": current.benefit.name}),
        ),
        "section": "recipients",
    }
    return render(request, "portal/caseworker/specific_form.html", context)


@function_required(Function.UPDATE_SPECIFIC_ACCOUNTS)
def specific_delete(request: HttpRequest, pk: int, benefit: str) -> HttpResponse:
    """Delete a specific account, after a confirmation."""
    entry = looked_up(request, pk)
    current = _specific_account(request, entry, benefit)
    error = None
    if request.method == "POST":
        try:
            specific_account_delete(actor=_actor(request), specific_account=current)
        except ApplicationError as refusal:
            error = str(refusal)
        else:
            messages.success(
                request,
                _("The specific account for %(benefit)s is deleted.")
                % {"benefit": current.benefit.name},
            )
            return redirect("portal:caseworker:recipient", pk=pk)
    context = {
        "entry": entry,
        "recipient": entry.recipient,
        "specific_account": current,
        "error": error,
        "crumbs": _crumbs(
            _recipient_crumb(entry),
            ("", _("Delete the account for %(benefit)s") % {"benefit": current.benefit.name}),
        ),
        "section": "recipients",
    }
    return render(request, "portal/caseworker/specific_delete.html", context)
