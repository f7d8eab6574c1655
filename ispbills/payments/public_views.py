"""The unauthenticated side of online payments: provider callbacks (browser returns and
IPNs) and the public payment page a signed link opens.

Callbacks are CSRF-exempt (providers post cross-site; what they claim is checked with the
provider, server to server) and stateless: the attempt is found by the references in the
callback, never by the session, so a payer whose cookie was not sent back still lands well.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from ispbills.payments.gateways import gateway_class
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import CallbackRequest


def callback_request(request: HttpRequest, kind: str) -> CallbackRequest:
    """A Django request as the plain values an adapter reads."""
    body = request.body
    content_type = request.content_type or ""
    form = (
        {k: str(v) for k, v in request.POST.items()}
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        else {}
    )
    return CallbackRequest(
        kind="ipn" if kind == "ipn" else "return",
        method=request.method or "GET",
        query={k: str(v) for k, v in request.GET.items()},
        form=form,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )


def _known(code: str) -> None:
    try:
        gateway_class(code)
    except KeyError:
        raise Http404 from None


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def gateway_return(request: HttpRequest, code: str) -> HttpResponse:
    """The payer's browser coming back from the provider: confirm, then show the result."""
    _known(code)
    outcome = gateways.handle_callback(code, callback_request(request, "return"))
    if outcome.attempt is None:
        return HttpResponse(status=404, content=b"Unknown payment.")
    return HttpResponseRedirect(attempt_result_url(outcome.attempt))


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def gateway_ipn(request: HttpRequest, code: str) -> HttpResponse:
    """A provider's server-to-server notification: confirm with the provider, answer as it
    expects (its retries stop on 200)."""
    _known(code)
    outcome = gateways.handle_callback(code, callback_request(request, "ipn"))
    if outcome.reply is not None:
        status, text = outcome.reply
        return HttpResponse(text, status=status, content_type="text/plain")
    if outcome.result == "unmatched":
        return HttpResponse("unknown transaction", status=404, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")


# Browser actions from one address: at most ACTION_LIMIT in START_WINDOW seconds (each may
# call the provider).
ACTION_LIMIT = 60


@login_not_required
@ensure_csrf_cookie
@require_http_methods(["GET"])
def gateway_page(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """Our own payment page for a provider whose script runs on the merchant's page (bKash
    Checkout): the signed token names the attempt; the script posts to ``gateway_action``."""
    from django.shortcuts import render

    _known(code)
    cls = gateway_class(code)
    attempt = gateways.attempt_for_page(code, token) if cls.browser_page else None
    if attempt is None:
        return render(request, "payments/pay_invalid.html", status=404)
    if attempt.state != "pending":
        return HttpResponseRedirect(attempt_result_url(attempt))
    config = {
        "token": token,
        "amount": f"{attempt.amount:.2f}",
        "result_url": attempt_result_url(attempt),
        "actions": {
            name: reverse("payments:gateway_action", args=[code, name])
            for name in cls.browser_actions
        },
    }
    return render(
        request,
        cls.browser_page,
        {
            "attempt": attempt,
            "provider_name": cls.name,
            "config": config,
            **gateways.page_context(attempt),
        },
    )


@login_not_required
@require_http_methods(["POST"])
def gateway_action(request: HttpRequest, code: str, name: str) -> HttpResponse:
    """An action of our payment page's script (CSRF-protected, JSON ``{token, ...}``): the
    signed token names the attempt; the provider is called server to server."""
    import json

    from django.http import JsonResponse
    from django.utils.translation import gettext as _

    _known(code)
    if _throttled(request, "action", ACTION_LIMIT, START_WINDOW):
        return JsonResponse({"error": _("Too many requests; try again later.")}, status=429)
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return JsonResponse({"error": _("Send a JSON object.")}, status=400)
    outcome = gateways.browser_action(code, name, str(payload.get("token") or ""), payload)
    reply: dict[str, Any] = {**outcome.reply, "result": outcome.result}
    if outcome.attempt is not None and outcome.result != "created":
        reply["result_url"] = attempt_result_url(outcome.attempt)
    return JsonResponse(reply, status=outcome.status)


def attempt_result_url(attempt: Any) -> str:
    """The public page showing an attempt's result (signed: the reference alone opens
    nothing)."""
    from ispbills.payments.gateways import links

    return reverse("payments:attempt_result", args=[links.sign_attempt(attempt.merchant_ref)])


# -- the public payment page --------------------------------------------------------------

# Starting payments from one address: at most START_LIMIT in START_WINDOW seconds (each
# start opens a session at the provider; a flood would get the merchant blocked).
START_LIMIT = 20
START_WINDOW = 600
VIEW_LIMIT = 120


def _throttled(request: HttpRequest, bucket: str, limit: int, window: int) -> bool:
    from django.core.cache import cache

    key = f"pay-throttle:{bucket}:{request.META.get('REMOTE_ADDR', '')}"
    if cache.add(key, 1, timeout=window):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=window)
        return False
    return count > limit


def _due(customer: Any, bill: Any) -> Any:
    from django.db.models import F, Sum

    from ispbills.core.money import ZERO
    from ispbills.payments.services import OPEN, PAYABLE_KINDS

    if bill is not None:
        return bill.total - bill.paid_amount
    total = (
        customer.bills.filter(kind__in=PAYABLE_KINDS, status__in=OPEN)
        .aggregate(due=Sum(F("total") - F("paid_amount")))
        .get("due")
    )
    return total or ZERO


@login_not_required
@require_http_methods(["GET", "POST"])
def pay_link(request: HttpRequest, token: str) -> HttpResponse:
    """A signed payment link: the amount due and the operator's gateways; choosing one starts
    an attempt and sends the payer to the provider."""
    from django.shortcuts import render
    from django.utils.translation import gettext as _

    from ispbills.billing.models import Bill
    from ispbills.core.errors import DomainError
    from ispbills.customers.models import Customer
    from ispbills.payments.gateways import links
    from ispbills.payments.models import PaymentAttempt

    if _throttled(request, "view", VIEW_LIMIT, START_WINDOW):
        return HttpResponse(_("Too many requests; try again in a few minutes."), status=429)
    target = links.read_link_token(token)
    customer = (
        Customer.objects.select_related("tenant", "operator")
        .exclude(status=Customer.Status.DELETED)
        .filter(pk=target.customer_id)
        .first()
        if target is not None
        else None
    )
    if target is None or customer is None:
        return render(request, "payments/pay_invalid.html", status=404)
    bill = None
    if target.bill_id is not None:
        bill = Bill.objects.filter(pk=target.bill_id, customer=customer).first()
    accounts = gateways.accounts_for_customer(customer)
    due = _due(customer, bill)
    bill_open = bill is None or bill.status in ("unpaid", "partially_paid")
    error = ""
    amount_text = str(due) if due > 0 else ""
    if request.method == "POST":
        if _throttled(request, "start", START_LIMIT, START_WINDOW):
            return HttpResponse(_("Too many payments started; try again later."), status=429)
        account = next((a for a in accounts if str(a.pk) == request.POST.get("gateway", "")), None)
        amount_text = (request.POST.get("amount") or "").strip()
        if bill is not None:
            amount_text = str(due)  # a bill's link pays that bill's balance, nothing else
        if account is None:
            error = _("Choose how to pay.")
        elif not bill_open:
            error = _("This bill is paid already.")
        else:
            try:
                started = gateways.start_attempt(
                    actor=None,
                    account=account,
                    amount=amount_text,
                    purpose=(
                        PaymentAttempt.Purpose.BILL
                        if (bill is not None or due > 0)
                        else PaymentAttempt.Purpose.ADVANCE
                    ),
                    customer=customer,
                    bill=bill,
                    return_url=request.path,
                    language=getattr(request, "LANGUAGE_CODE", "en"),
                    client_ip=request.META.get("REMOTE_ADDR", ""),
                )
            except DomainError as exc:
                error = str(exc)
            else:
                if started.result is None:
                    error = _("The gateway did not open the payment: %(why)s") % {
                        "why": started.attempt.message
                    }
                elif started.result.redirect_url:
                    return HttpResponseRedirect(started.result.redirect_url)
                else:
                    return render(request, "payments/pay_redirect.html", {"start": started.result})
    return render(
        request,
        "payments/pay_page.html",
        {
            "customer": customer,
            "bill": bill,
            "bill_open": bill_open,
            "due": due,
            "amount": amount_text,
            "accounts": accounts,
            "account_names": [(a.pk, a.provider_name) for a in accounts],
            "error": error,
            "expires_at": target.expires_at,
            "currency": customer.tenant.currency,
        },
    )


@login_not_required
def attempt_result(request: HttpRequest, token: str) -> HttpResponse:
    """Where the payer lands after the provider: the attempt's state as we know it (from the
    provider, not from the redirect)."""
    from django.shortcuts import render

    from ispbills.payments.gateways import links
    from ispbills.payments.models import PaymentAttempt

    merchant_ref = links.read_attempt(token)
    attempt = (
        PaymentAttempt.objects.select_related("customer", "payment", "customer__tenant")
        .filter(merchant_ref=merchant_ref)
        .first()
        if merchant_ref
        else None
    )
    if attempt is None:
        return render(request, "payments/pay_invalid.html", status=404)
    return render(request, "payments/pay_result.html", {"attempt": attempt})
