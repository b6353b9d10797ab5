"""Operational endpoints: /healthz and the operator's worker ping."""

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from nemkonto import health, worker_ping
from nemkonto.problems import problem_response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 when one of them does not."""
    checks = health.run_checks()
    healthy = all(check["ok"] for check in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": checks,
        "last_worker_heartbeat": health.last_worker_heartbeat(),
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _operator_required(request: HttpRequest) -> JsonResponse | None:
    if not request.user.is_authenticated:
        return problem_response(401, "Login required", "Log in as an operator to ping workers.")
    if not request.user.is_staff:
        return problem_response(403, "Forbidden", "Only operators may ping workers.")
    return None


@never_cache
@require_POST
def worker_ping_create(request: HttpRequest) -> JsonResponse:
    """Queue a ping task; the answer links to where its result appears."""
    if denied := _operator_required(request):
        return denied
    record = worker_ping.ping_queue()
    url = reverse("worker-ping-detail", kwargs={"ping_id": record["id"]})
    return JsonResponse({**record, "links": {"self": url}}, status=202)


@never_cache
@require_GET
def worker_ping_detail(request: HttpRequest, ping_id: str) -> JsonResponse:
    """200 with the worker that handled the ping, 202 while it is still queued."""
    if denied := _operator_required(request):
        return denied
    record = worker_ping.ping_get(str(ping_id))
    if record is None:
        return problem_response(404, "Not found", "No such ping (pings expire after an hour).")
    return JsonResponse(record, status=200 if record["status"] == "handled" else 202)
