import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nemkonto.demo import DemoDataNotAllowed, demo_data_load
from portal.demo_identities import demo_identities


class Command(BaseCommand):
    help = "Create the demo data (idempotent) and print the demo logins, authorities and clients."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            demo = demo_data_load()
        except DemoDataNotAllowed as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(demo, ensure_ascii=False, indent=2))
            return
        write = self.stdout.write
        write("Operators (the administration at /admin/, user name and password):")
        for login in demo["logins"]:
            if "password" in login:
                write(f"  {login['username']:<22} {login['password']:<20} {login['role']}")
        write(
            "Portal identities (/log-ind/: MitID or MitID Erhverv, then pick one at the provider):"
        )
        for identity in demo_identities():
            write(
                f"  {identity.sub:<22} {identity.method:<14} {identity.role:<20}"
                f" {identity.description}"
            )
        write("Authorities:")
        for authority in demo["authorities"]:
            agreements = ", ".join(
                f"{a['number']} (reg {a['bank_reg']})" for a in authority["bank_agreements"]
            )
            write(f"  {authority['code']:<8} {authority['name']}")
            write(f"           LOS units: {', '.join(authority['los_units'])}")
            write(f"           benefits: {', '.join(authority['benefits'])}")
            write(f"           bank agreements: {agreements}")
            write(f"           active payment systems: {', '.join(authority['payment_systems'])}")
        registry = demo["registry"]
        register = registry["register"]
        write(
            f"Register: {register['persons']} persons, {register['businesses']} business IDs"
            " (synthetic). Demo recipients:"
        )
        for person in registry["recipients"]:
            nemkonto = person["nemkonto"]
            account = f"NemKonto {nemkonto['masked']} ({nemkonto['channel']})" if nemkonto else "-"
            extra = ""
            if person["activation"]:
                extra = f"; pending change, activation code {person['activation']['code']}"
            if person["specific_accounts"]:
                extra += f"; {len(person['specific_accounts'])} specific account(s)"
            write(f"  {person['type']:<3} {person['id']:<11} {person['name']:<26} {account}{extra}")
        write("API clients (client credentials at POST /o/token/):")
        for authority in demo["authorities"]:
            for client in authority["api_clients"]:
                scopes = " ".join(client["scopes"])
                write(
                    f"  {client['client_id']:<18} {client['client_secret']:<30} scope {scopes}"
                    f" ({client['payment_system']} for {authority['code']})"
                )
        bank = registry["bank_client"]
        scopes = " ".join(bank["scopes"])
        write(
            f"  {bank['client_id']:<18} {bank['client_secret']:<30} scope {scopes}"
            f" (bank {bank['bank_reg']})"
        )
        batch = demo["batch"]
        write(
            f"Payment batch {batch['batch_id']}: {batch['received']} payments for value date "
            f"{batch['expected_value_date']} ({batch['links']['self']}); the worker processes "
            "it, `manage.py run_cycle` forwards it and `manage.py simulate_bank --once` answers."
        )
