"""``manage.py import_register``: load or update the register mirror from CSV extracts.

API.md, "Operator commands" and "Register extract formats"; the rules are in
``registry.register_import``.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.register_import import (
    BUSINESSES,
    BUSINESSES_HEADER,
    PERSONS,
    PERSONS_HEADER,
    ImportResult,
    RegisterFileError,
    register_import,
)


class Command(BaseCommand):
    help = (
        "Load or update the register mirror from a persons extract "
        f"({','.join(PERSONS_HEADER)}) and/or a businesses extract "
        f"({','.join(BUSINESSES_HEADER)}), UTF-8 CSV with a header line, in one transaction. "
        "Invalid rows are rejected and listed; the rest is imported. Nothing is deleted: with "
        "--full, recipients missing from a full extract get status ceased."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", metavar="FILE", type=Path, help="a CPR extract (CSV)")
        parser.add_argument(
            "--businesses", metavar="FILE", type=Path, help="a CVR extract with P and SE (CSV)"
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="the files are full extracts: recipients of their kinds missing from them "
            "get status ceased (never deleted)",
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["persons"] and not options["businesses"]:
            raise CommandError("Give --persons FILE, --businesses FILE or both.")
        try:
            result = register_import(
                persons=options["persons"],
                businesses=options["businesses"],
                full=options["full"],
            )
        except RegisterFileError as error:
            raise CommandError(f"{error} Nothing was imported.") from error
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            self._print(result)

    def _print(self, result: ImportResult) -> None:
        for name, counts in ((PERSONS, result.persons), (BUSINESSES, result.businesses)):
            if counts is not None:
                self.stdout.write(
                    f"{name}: {counts.new} new, {counts.changed} changed, "
                    f"{counts.unchanged} unchanged, {counts.ceased} ceased, "
                    f"{counts.rejected} rejected"
                )
        for error in result.errors:
            self.stdout.write(f"  {error.file} line {error.line}, {error.field}: {error.message}")
