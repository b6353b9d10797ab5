"""``manage.py readiness [--authority CODE] [--json]``: the readiness checklists (1.1-1.11)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Authority
from payments.readiness import readiness_for, readiness_summary


class Command(BaseCommand):
    help = "Print each authority's readiness checklist (items 1.1-1.11): met or not, and why."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--authority", metavar="CODE", help="only this authority")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        authorities = Authority.objects.order_by("code")
        if options["authority"]:
            authorities = authorities.filter(code=options["authority"])
            if not authorities.exists():
                raise CommandError(f"No authority with the code {options['authority']}.")
        else:
            authorities = authorities.filter(is_active=True)
        result: list[dict[str, Any]] = []
        for authority in authorities:
            items = readiness_for(authority)
            result.append(
                {
                    "code": authority.code,
                    "name": authority.name,
                    **readiness_summary(items),
                    "items": [item.as_dict() for item in items],
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps({"authorities": result}, ensure_ascii=False, indent=2))
            return
        for entry in result:
            self.stdout.write(
                f"{entry['code']} {entry['name']}: {entry['met']} of {entry['total']} met"
            )
            for item in entry["items"]:
                mark = "x" if item["met"] else " "
                self.stdout.write(
                    f"  [{mark}] {item['item']:<5} {item['title']} ({item['how']}): {item['why']}"
                )
