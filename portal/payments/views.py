"""The caseworker payment pages (issue 7): search the authority's payments, see one payment's
full history, stop pending ones. Thin views over the selectors and the stop service that the
REST API's caseworker endpoints (``/api/v1/payments``) use, so the two always agree."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.functions import Function
from accounts.models import User
from accounts.selectors import units_for
from nemkonto.errors import NotFound, ValidationFailed
from payments.models import STOPPABLE_STATUSES, Payment, PaymentStatus
from payments.payment_selectors import (
    PENDING_STATUSES,
    full_account,
    masked_account,
    payment_get,
    payment_history,
    payment_search,
    payment_stop_reason,
    payments_visible,
    recipient_label,
)
from payments.return_codes import RETURN_CODES, return_text
from payments.services.stops import (
    ALREADY_FORWARDED,
    NOT_FOUND,
    STOP_LIMIT,
    STOPPED,
    payments_stop,
)
from portal.access import function_required, has_function
from portal.payments.forms import SELECTOR_FIELDS, PaymentSearchForm, PaymentStopForm
from portal.payments.paging import keyset_page
from registry.models import LookupLog

SEARCH_FUNCTIONS = (Function.SEARCH_PENDING_PAYMENTS, Function.SEARCH_COMPLETED_PAYMENTS)
_AT_BANK = (PaymentStatus.FORWARDED, PaymentStatus.BANK_RECEIVED, PaymentStatus.BANK_ERROR)


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # function_required let only employees through
    return user


def _crumbs(*trail: tuple[str, str]) -> list[tuple[str, str]]:
    return [(reverse("portal:home"), _("Front page")), *trail]


def _stoppable_ids(actor: User, payments: list[Payment]) -> set[int]:
    """The payments the actor may stop now: pending, not in a bank file, on a unit where they
    hold *stop pending payments* (one query, for the units of the pending payments given; none
    without the function)."""
    candidates = [p for p in payments if p.status in STOPPABLE_STATUSES and p.bank_file_id is None]
    if not candidates:
        return set()
    units = set(
        units_for(user=actor, function=Function.STOP_PENDING_PAYMENTS)
        .filter(pk__in={p.los_unit_id for p in candidates})
        .values_list("pk", flat=True)
    )
    return {p.pk for p in candidates if p.los_unit_id in units}


def _kroner(payment: Payment) -> Decimal | None:
    """The amount in kroner, for the templates' localized number format."""
    return None if payment.amount_ore is None else Decimal(payment.amount_ore) / 100


@dataclass(frozen=True)
class Row:
    payment: Payment
    recipient: str
    stoppable: bool

    @property
    def amount(self) -> Decimal | None:
        return _kroner(self.payment)


# The names of the history's events (payments.payment_selectors.payment_history).
EVENT_LABELS = {
    "received": gettext_lazy("Received"),
    "validated": gettext_lazy("Validated"),
    "attached": gettext_lazy("Account attached"),
    "rejected": gettext_lazy("Rejected"),
    "failed": gettext_lazy("Failed"),
    "waiting": gettext_lazy("Waiting for an account"),
    "stopped": gettext_lazy("Stopped"),
    "forwarded": gettext_lazy("Forwarded to the bank"),
    "bank_received": gettext_lazy("Received by the bank"),
    "bank_error": gettext_lazy("Error in the bank"),
    "booked": gettext_lazy("Booked"),
    "held": gettext_lazy("Held as a possible duplicate"),
    "confirmed": gettext_lazy("Confirmed"),
    "rejected_duplicate": gettext_lazy("Rejected as a duplicate"),
}


@function_required(*SEARCH_FUNCTIONS)
def search(request: HttpRequest) -> HttpResponse:
    """Search the authority's payments (a GET form): results of the actor's units, newest first,
    25 a page; nothing is searched until the form is sent."""
    actor = _actor(request)
    form = PaymentSearchForm(request.GET or None)
    page = None
    rows: list[Row] = []
    if form.is_bound and form.is_valid():
        try:
            payments = payment_search(
                actor=actor, channel=LookupLog.Channel.PORTAL, **form.selector_filters()
            )
        except ValidationFailed as error:
            for item in error.field_errors():
                field = SELECTOR_FIELDS.get(item["field"], item["field"])
                form.add_error(field if field in form.fields else None, item["message"])
        else:
            low, high = form.cleaned_data.get("amount_from"), form.cleaned_data.get("amount_to")
            if low is not None:
                payments = payments.filter(amount_ore__gte=low)
            if high is not None:
                payments = payments.filter(amount_ore__lte=high)
            page = keyset_page(payments, request.GET, key="received_at")
            stoppable = _stoppable_ids(actor, page.items)
            rows = [Row(p, recipient_label(p), p.pk in stoppable) for p in page.items]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "can_stop": any(row.stoppable for row in rows),
        "section": "payments",
        "crumbs": _crumbs(("", _("Payments"))),
    }
    return render(request, "portal/payments/search.html", context)


def _history(payment: Payment) -> list[dict[str, Any]]:
    events = payment_history(payment=payment, with_accounts=True)
    for event in events:
        event["is_date"] = not hasattr(event["at"], "hour")
        event["label"] = EVENT_LABELS.get(event["event"], event["event"])
    return events


def _stop_refusal(actor: User, payment: Payment) -> str:
    """Why the actor cannot stop this payment (shown instead of the stop button)."""
    if payment.bank_file_id is not None or payment.status in _AT_BANK:
        return _(
            "The payment can no longer be stopped: it has been forwarded to the bank. "
            "Contact the authority's bank if the money must be recalled."
        )
    if payment.status not in STOPPABLE_STATUSES:
        return _("The payment can no longer be stopped: its status is %(status)s.") % {
            "status": payment.get_status_display().lower()
        }
    return _(
        "You cannot stop this payment: you do not hold the profile NKS-Stop-Bet on LOS unit "
        "%(unit)s."
    ) % {"unit": payment.los_unit}


@function_required(*SEARCH_FUNCTIONS)
def detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    """One payment of the actor's units with its full history and, for those who may stop
    payments, the stop action or why it is not possible."""
    actor = _actor(request)
    try:
        payment = payment_get(actor=actor, payment_id=payment_id)
    except NotFound:
        raise Http404 from None
    may_stop = has_function(actor, Function.STOP_PENDING_PAYMENTS)
    stoppable = may_stop and payment.pk in _stoppable_ids(actor, [payment])
    code = RETURN_CODES.get(payment.return_code) if payment.return_code is not None else None
    context = {
        "payment": payment,
        "recipient": recipient_label(payment),
        "account": masked_account(payment),
        "account_full": None if payment.status in PENDING_STATUSES else full_account(payment),
        "amount": _kroner(payment),
        "return_text": return_text(payment),
        "return_code": code,
        "history": _history(payment),
        "stop_reason": payment_stop_reason(payment=payment),
        "may_stop": may_stop,
        "stoppable": stoppable,
        # Nothing to explain for a payment that is stopped already (its history says by whom).
        "stop_refusal": ""
        if stoppable or not may_stop or payment.status == PaymentStatus.STOPPED
        else _stop_refusal(actor, payment),
        "section": "payments",
        "crumbs": _crumbs(
            (reverse("portal:payments:search"), _("Payments")),
            ("", _("Payment %(reference)s") % {"reference": payment.reference or payment.pk}),
        ),
    }
    return render(request, "portal/payments/detail.html", context)


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values[:STOP_LIMIT]:
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return list(dict.fromkeys(pk for pk in ids if pk > 0))


def _next_url(request: HttpRequest, value: str | None) -> str | None:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


def _report(request: HttpRequest, results: dict[int, str], payments: dict[int, Payment]) -> None:
    """One message per payment: stopped, or why not."""
    for pk, answer in results.items():
        payment = payments.get(pk)
        reference = payment.reference if payment is not None else str(pk)
        if answer == STOPPED:
            messages.success(
                request, _("Payment %(reference)s is stopped.") % {"reference": reference}
            )
        elif answer == ALREADY_FORWARDED:
            messages.error(
                request,
                _(
                    "Payment %(reference)s was not stopped: it has already been forwarded to the "
                    "bank, and only pending payments can be stopped."
                )
                % {"reference": reference},
            )
        elif answer == NOT_FOUND:
            messages.error(
                request,
                _(
                    "Payment %(reference)s was not stopped: it is not on a LOS unit where you "
                    "may stop payments."
                )
                % {"reference": reference},
            )
        else:
            messages.error(
                request,
                _("Payment %(reference)s was not stopped: it is already final.")
                % {"reference": reference},
            )


@require_http_methods(["GET", "POST"])
@function_required(Function.STOP_PENDING_PAYMENTS)
def stop(request: HttpRequest) -> HttpResponse:
    """Stop pending payments: GET shows the chosen payments (``?payment=<id>``, repeated) and
    asks for a reason and a confirmation; POST stops them through the stop service and tells,
    per payment, whether it was stopped or why not. Bad input stops nothing."""
    actor = _actor(request)
    data = request.POST if request.method == "POST" else request.GET
    ids = _ids(data.getlist("payment"))
    chosen = list(
        payments_visible(actor=actor).filter(pk__in=ids).select_related("los_unit").order_by("-id")
    )
    by_id = {p.pk: p for p in chosen}
    stoppable = _stoppable_ids(actor, chosen)
    next_url = _next_url(request, data.get("next"))
    form = PaymentStopForm(
        request.POST if request.method == "POST" else None,
        payment_ids=[p.pk for p in chosen],
        initial={"payment": [str(pk) for pk in sorted(stoppable, reverse=True)]},
    )
    if request.method == "POST" and form.is_valid():
        results = payments_stop(
            actor=actor,
            payment_ids=form.cleaned_data["payment"],
            reason=form.cleaned_data["reason"],
        )
        _report(request, results, by_id)
        if next_url:
            return HttpResponseRedirect(next_url)
        if len(results) == 1:
            return redirect("portal:payments:detail", payment_id=next(iter(results)))
        return redirect("portal:payments:search")
    rows = [
        {
            "payment": p,
            "recipient": recipient_label(p),
            "amount": _kroner(p),
            "refusal": "" if p.pk in stoppable else _stop_refusal(actor, p),
        }
        for p in chosen
    ]
    context = {
        "form": form,
        "rows": rows,
        "show_form": bool(stoppable) or form.is_bound,
        "next": next_url,
        "back": next_url or reverse("portal:payments:search"),
        "section": "payments",
        "crumbs": _crumbs(
            (reverse("portal:payments:search"), _("Payments")), ("", _("Stop payments"))
        ),
    }
    return render(request, "portal/payments/stop.html", context)
