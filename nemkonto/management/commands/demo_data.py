import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nemkonto.demo import DemoDataNotAllowed, demo_data_load


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
        write("Demo logins (operators at /admin/, authority staff at /log-ind/):")
        for login in demo["logins"]:
            where = (
                f"{login['authority']}: {', '.join(login['profiles'])}"
                if "profiles" in login
                else ""
            )
            write(f"  {login['username']:<22} {login['password']:<20} {login['role']:<20} {where}")
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
        write("API clients (client credentials at POST /o/token/):")
        for authority in demo["authorities"]:
            for client in authority["api_clients"]:
                scopes = " ".join(client["scopes"])
                write(
                    f"  {client['client_id']:<18} {client['client_secret']:<30} scope {scopes}"
                    f" ({client['payment_system']} for {authority['code']})"
                )
