import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nemkonto.demo import DemoDataNotAllowed, demo_data_load


class Command(BaseCommand):
    help = "Create the demo data (idempotent) and print the demo logins and identities."

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
        self.stdout.write("Demo logins:")
        for login in demo["logins"]:
            self.stdout.write(
                f"  {login['role']:<12} {login['username']:<16} password {login['password']:<20}"
                f" at {login['login']}"
            )
