"""``manage.py create_api_client``: OAuth2 clients for payment systems, authorities and banks.

API.md, operator commands. Also rotates a client's secret (``--rotate CLIENT_ID``) and
deactivates a client (``--deactivate CLIENT_ID``): the admin shows API clients read-only.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.api_clients import (
    ApiClientCredentials,
    api_client_create,
    api_client_deactivate,
    api_client_rotate_secret,
)
from accounts.models import ApiClient, Authority, Bank
from nemkonto.errors import ApplicationError
from payments.models import ConnectionAgreement, PaymentSystem


class Command(BaseCommand):
    help = (
        "Create an OAuth2 client-credentials client and print its id, secret (shown once) and "
        "scopes: --kind payment_system --authority CODE --payment-system CODE (needs an active "
        "connection agreement), --kind authority --authority CODE, or --kind bank --bank REGNR. "
        "--rotate CLIENT_ID gives a client a new secret; --deactivate CLIENT_ID switches it off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=ApiClient.Kind.values)
        parser.add_argument("--authority", metavar="CODE", help="the authority's code")
        parser.add_argument("--payment-system", metavar="CODE", help="the payment system's code")
        parser.add_argument("--bank", metavar="REGNR", help="the bank's registration number")
        parser.add_argument("--name", help="a name for the client (default: what it is for)")
        parser.add_argument(
            "--allow-test",
            action="store_true",
            help="also for a connection agreement in test (credentials for the test run)",
        )
        parser.add_argument("--rotate", metavar="CLIENT_ID", help="give this client a new secret")
        parser.add_argument("--deactivate", metavar="CLIENT_ID", help="switch this client off")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        modes = [m for m in ("kind", "rotate", "deactivate") if options[m]]
        if len(modes) != 1:
            raise CommandError("Give exactly one of --kind, --rotate CLIENT_ID, --deactivate.")
        try:
            if options["rotate"]:
                self._print(
                    api_client_rotate_secret(
                        actor=None, api_client=self._client(options["rotate"])
                    ),
                    options,
                )
                return
            if options["deactivate"]:
                client = api_client_deactivate(
                    actor=None, api_client=self._client(options["deactivate"])
                )
                result = {"client_id": client.application.client_id, "active": client.is_active}
                if options["json"]:
                    self.stdout.write(json.dumps(result))
                else:
                    self.stdout.write(f"Deactivated {client.application.client_id}.")
                return
            self._print(self._create(options), options)
        except ApplicationError as error:
            raise CommandError(str(error)) from error

    def _client(self, client_id: str) -> ApiClient:
        client = (
            ApiClient.objects.select_related("application")
            .filter(application__client_id=client_id)
            .first()
        )
        if client is None:
            raise CommandError(f"No API client with the client id {client_id}.")
        return client

    def _create(self, options: dict[str, Any]) -> ApiClientCredentials:
        kind = options["kind"]
        authority = payment_system = bank = None
        if options["authority"]:
            authority = Authority.objects.filter(code=options["authority"]).first()
            if authority is None:
                raise CommandError(f"No authority with the code {options['authority']}.")
        if options["payment_system"]:
            payment_system = PaymentSystem.objects.filter(code=options["payment_system"]).first()
            if payment_system is None:
                raise CommandError(f"No payment system with the code {options['payment_system']}.")
        if options["bank"]:
            bank = Bank.objects.filter(reg=options["bank"]).first()
            if bank is None:
                raise CommandError(f"No bank with the registration number {options['bank']}.")
        if kind == ApiClient.Kind.PAYMENT_SYSTEM and authority and payment_system:
            agreement = ConnectionAgreement.objects.filter(
                authority=authority, payment_system=payment_system
            ).first()
            allowed = [ConnectionAgreement.Status.ACTIVE]
            if options["allow_test"]:
                allowed.append(ConnectionAgreement.Status.IN_TEST)
            if agreement is None or agreement.status not in allowed:
                state = agreement.get_status_display().lower() if agreement else "missing"
                raise CommandError(
                    f"No active connection agreement between {authority.code} and "
                    f"{payment_system.code} (it is {state})."
                    + ("" if options["allow_test"] else " Use --allow-test for one in test.")
                )
        name = options["name"] or " · ".join(
            str(part)
            for part in (
                payment_system and payment_system.code,
                authority and authority.code,
                bank and bank.reg,
            )
            if part
        )
        return api_client_create(
            actor=None,
            kind=kind,
            name=name or kind,
            authority=authority,
            payment_system=payment_system,
            bank=bank,
        )

    def _print(self, credentials: ApiClientCredentials, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(credentials.as_dict()))
            return
        self.stdout.write(f"client_id:     {credentials.client_id}")
        self.stdout.write(f"client_secret: {credentials.client_secret}")
        self.stdout.write(f"scopes:        {' '.join(credentials.scopes)}")
        self.stdout.write("The secret is stored hashed and is shown only now.")
