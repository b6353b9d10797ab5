"""The citizen and business pages: thin views over the registry's selectors and the services the
REST API's ``/me`` endpoints call (``registry/api.py``).

Every change goes through a confirmation step (the form, then "check and confirm", then the
service), is confirmed on screen, and names the notice the service queued. Businesses see the
same overview and specific accounts, read only. ``section`` in the context marks the current
item of the navigation (templates/portal/citizen/nav_items.html).
"""

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from nemkonto.errors import ApplicationError, NotFound, PermissionDenied
from portal.citizen.access import citizen_required, recipient_required, refusal
from portal.citizen.display import (
    author,
    bank_name,
    change_rows,
    notice_confirmation,
    version_rows,
)
from portal.citizen.forms import AccountForm, ActivationCodeForm
from portal.citizen.paging import paginate
from portal.citizen.selectors import nemkonto_state, notices_of, notices_since
from registry import selectors
from registry.models import NemKonto, Recipient, SpecificAccount
from registry.services import (
    activation_activate_own,
    nemkonto_delete,
    nemkonto_set,
    specific_account_delete,
    specific_account_update,
)

OVERVIEW = "portal:citizen:overview"
SPECIFIC_LIST = "portal:citizen:specific_accounts"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_citizen(request: HttpRequest) -> bool:
    return _user(request).kind == User.Kind.CITIZEN


def _crumbs(*trail: tuple[str, str]) -> list[tuple[str, str]]:
    """Breadcrumbs from the front page over "My NemKonto" to ``trail`` (url, text pairs)."""
    return [
        (reverse("portal:home"), _("Front page")),
        (reverse(OVERVIEW), _("My NemKonto")),
        *trail,
    ]


def _confirm_change(
    request: HttpRequest, recipient: Recipient, since: datetime.datetime, text: str
) -> None:
    """The success message, and where the notices the service queued went."""
    messages.success(request, text)
    sent = notice_confirmation(notices_since(recipient=recipient, since=since))
    if sent:
        messages.info(request, sent)


def _held(version: NemKonto) -> str:
    """The change is registered but waits for the NemKonto service's review (a foreign account,
    or a change that looks risky: registry/services/risk.py)."""
    return _(
        "Your new NemKonto %(account)s is registered. The NemKonto service checks the change "
        "before it is used (%(reasons)s); until then, payments to you wait."
    ) % {
        "account": version.masked_account,
        "reasons": ", ".join(version.hold_reason_labels()).lower(),
    }


# --- Overview -----------------------------------------------------------------------------------


@recipient_required
def overview(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """The NemKonto in force, a change waiting for the letter's code, and every version."""
    state = nemkonto_state(recipient=recipient)
    history = paginate(
        selectors.nemkonto_history(recipient=recipient),
        request.GET,
        param="side",
        anchor="historik",
    )
    return render(
        request,
        "portal/citizen/overview.html",
        {
            "section": "overview",
            "recipient": recipient,
            "is_citizen": _is_citizen(request),
            "state": state,
            "bank": bank_name(state.current.stored_account) if state.current else "",
            "current_author": author(state.current) if state.current else "",
            "history": history,
            "history_rows": version_rows(history.items),
            "specific_count": selectors.specific_accounts_of_me(actor=_user(request)).count(),
            "crumbs": [(reverse("portal:home"), _("Front page")), ("", _("My NemKonto"))],
        },
    )


# --- Change or delete the NemKonto (citizens) -------------------------------------------------


def _account_flow(
    request: HttpRequest,
    *,
    template: str,
    context: dict[str, Any],
    apply: Callable[[AccountForm], HttpResponse],
) -> HttpResponse:
    """The form, then "check and confirm" (the input carried in hidden fields), then ``apply``.

    ``step`` is ``review`` from the form, ``confirm`` or ``edit`` from the check page. A service
    refusal on confirm goes back to the form with the error on its field; nothing is changed.
    """
    form = AccountForm(request.POST if request.method == "POST" else None)
    step = request.POST.get("step", "review")
    if request.method == "POST" and form.is_valid():
        if step == "confirm":
            try:
                return apply(form)
            except ApplicationError as error:
                form.add_service_error(error)
        elif step == "review":
            return render(
                request,
                template,
                {**context, "form": form, "new": form.account, "new_bank": bank_name(form.account)},
            )
    return render(request, template, {**context, "form": form})


@citizen_required
def nemkonto_change(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """Create or change the NemKonto: in force at once, a foreign account after review."""
    state = nemkonto_state(recipient=recipient)

    def apply(form: AccountForm) -> HttpResponse:
        since = timezone.now()
        change = nemkonto_set(actor=_user(request), account=form.account_input())
        account = change.version.masked_account
        if not change.changed:
            messages.info(
                request,
                _("%(account)s is already your NemKonto: nothing was changed.")
                % {"account": account},
            )
        elif change.version.state == NemKonto.State.HELD:
            _confirm_change(request, recipient, since, _held(change.version))
        else:
            _confirm_change(
                request,
                recipient,
                since,
                _("Your NemKonto is now %(account)s. Payments from now on go to this account.")
                % {"account": account},
            )
        return redirect(OVERVIEW)

    title = _("Change your NemKonto") if state.current else _("Create your NemKonto")
    return _account_flow(
        request,
        template="portal/citizen/nemkonto_change.html",
        context={
            "section": "overview",
            "title": title,
            "state": state,
            "crumbs": _crumbs(("", title)),
        },
        apply=apply,
    )


@citizen_required
def nemkonto_remove(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """Delete the NemKonto, after a confirmation page that says what it means."""
    state = nemkonto_state(recipient=recipient)
    if state.current is None and state.waiting is None:
        messages.info(request, _("You have no NemKonto to delete."))
        return redirect(OVERVIEW)
    error = None
    if request.method == "POST":
        since = timezone.now()
        try:
            ended = nemkonto_delete(actor=_user(request))
        except ApplicationError as refused:
            error = str(refused)
        else:
            text = (
                _("The change of your NemKonto to %(account)s, which was waiting, is cancelled.")
                if ended.state == NemKonto.State.CANCELLED
                else _(
                    "Your NemKonto %(account)s is deleted. Public authorities cannot pay money "
                    "to you until you register a new one."
                )
            )
            _confirm_change(request, recipient, since, text % {"account": ended.masked_account})
            return redirect(OVERVIEW)
    title = _("Delete your NemKonto")
    return render(
        request,
        "portal/citizen/nemkonto_delete.html",
        {
            "section": "overview",
            "title": title,
            "state": state,
            "error": error,
            "crumbs": _crumbs(("", title)),
        },
        status=409 if error else 200,
    )


# --- Specific accounts ------------------------------------------------------------------------


@recipient_required
def specific_accounts(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """The recipient's live specific accounts; citizens change or delete the unlocked ones."""
    title = _("Specific accounts")
    return render(
        request,
        "portal/citizen/specific_accounts.html",
        {
            "section": "specific",
            "title": title,
            "accounts": selectors.specific_accounts_of_me(actor=_user(request)),
            "is_citizen": _is_citizen(request),
            "crumbs": _crumbs(("", title)),
        },
    )


def _specific_page(
    request: HttpRequest, authority: str, benefit: str, title: str
) -> tuple[SpecificAccount, dict[str, Any]] | HttpResponse:
    """The citizen's specific account and the page's context, or the page that refuses: 404
    when there is none, 403 when it is locked (only the authority may change it, DOMAIN.md
    section 5)."""
    try:
        found = selectors.specific_account_get_own(
            actor=_user(request), authority_code=authority, benefit_code=benefit
        )
    except NotFound as error:
        return refusal(request, str(error), status=404)
    crumbs = _crumbs((reverse(SPECIFIC_LIST), _("Specific accounts")), ("", title))
    context = {"section": "specific", "title": title, "specific": found, "crumbs": crumbs}
    if found.locked:
        return _locked(request, context)
    return found, context


def _locked(request: HttpRequest, context: dict[str, Any], message: str = "") -> HttpResponse:
    """The locked account's refusal: the service's message when it refused, else the page's."""
    return render(
        request, "portal/citizen/specific_locked.html", {**context, "message": message}, status=403
    )


@citizen_required
def specific_change(
    request: HttpRequest, recipient: Recipient, authority: str, benefit: str
) -> HttpResponse:
    """Change the account of an unlocked specific account (a new version, at once)."""
    page = _specific_page(request, authority, benefit, _("Change specific account"))
    if isinstance(page, HttpResponse):
        return page
    found, context = page

    def apply(form: AccountForm) -> HttpResponse:
        since = timezone.now()
        try:
            version = specific_account_update(
                actor=_user(request), specific_account=found, account=form.account_input()
            )
        except PermissionDenied as error:
            return _locked(request, context, str(error))
        if version.pk == found.pk:
            messages.info(
                request,
                _("%(account)s is already the account for %(benefit)s: nothing was changed.")
                % {"account": version.masked_account, "benefit": version.benefit.name},
            )
        else:
            _confirm_change(
                request,
                recipient,
                since,
                _("%(authority)s now pays %(benefit)s to the account %(account)s.")
                % {
                    "authority": version.authority.name,
                    "benefit": version.benefit.name,
                    "account": version.masked_account,
                },
            )
        return redirect(SPECIFIC_LIST)

    return _account_flow(
        request, template="portal/citizen/specific_change.html", context=context, apply=apply
    )


@citizen_required
def specific_remove(
    request: HttpRequest, recipient: Recipient, authority: str, benefit: str
) -> HttpResponse:
    """Delete an unlocked specific account: the benefit is paid to the NemKonto again."""
    page = _specific_page(request, authority, benefit, _("Delete specific account"))
    if isinstance(page, HttpResponse):
        return page
    found, context = page
    if request.method == "POST":
        since = timezone.now()
        try:
            ended = specific_account_delete(actor=_user(request), specific_account=found)
        except PermissionDenied as error:
            return _locked(request, context, str(error))
        except ApplicationError as error:
            return render(
                request,
                "portal/citizen/specific_delete.html",
                {**context, "error": str(error)},
                status=409,
            )
        _confirm_change(
            request,
            recipient,
            since,
            _(
                "The specific account for %(benefit)s is deleted: %(authority)s now pays "
                "%(benefit)s to your NemKonto."
            )
            % {"benefit": ended.benefit.name, "authority": ended.authority.name},
        )
        return redirect(SPECIFIC_LIST)
    return render(request, "portal/citizen/specific_delete.html", context)


# --- Activation with the letter's code --------------------------------------------------------


@recipient_required
def activate(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """ "Activate with code": the recipient of an activation letter puts a caseworker's change of
    their NemKonto in force (the same service as the phone menu)."""
    form = ActivationCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        since = timezone.now()
        try:
            version = activation_activate_own(actor=_user(request), code=form.cleaned_data["code"])
        except ApplicationError as error:
            form.add_error("code", str(error))
        else:
            text = (
                _held(version)
                if version.state == NemKonto.State.HELD
                else _("Your new NemKonto %(account)s is now in force.")
                % {"account": version.masked_account}
            )
            _confirm_change(request, recipient, since, text)
            return redirect(OVERVIEW)
    title = _("Activate with code")
    return render(
        request,
        "portal/citizen/activate.html",
        {
            "section": "activate",
            "title": title,
            "form": form,
            "state": nemkonto_state(recipient=recipient),
            "crumbs": _crumbs(("", title)),
        },
    )


# --- Who looked me up or changed my accounts ----------------------------------------------------


@recipient_required
def activity(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    """The look-up log, the changes of the accounts and the notices sent, newest first."""
    actor = _user(request)
    changes = paginate(
        selectors.changes_of_me(actor=actor), request.GET, param="aendringer", anchor="aendringer"
    )
    title = _("Who has looked you up or changed your accounts")
    return render(
        request,
        "portal/citizen/activity.html",
        {
            "section": "activity",
            "title": title,
            "recipient": recipient,
            "lookups": paginate(
                selectors.lookups_of_me(actor=actor), request.GET, param="opslag", anchor="opslag"
            ),
            "changes": changes,
            "change_rows": change_rows(changes.items),
            "notices": paginate(
                notices_of(recipient=recipient), request.GET, param="breve", anchor="breve"
            ),
            "crumbs": _crumbs(("", title)),
        },
    )
