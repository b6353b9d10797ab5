"""``manage.py generate_register``: write a synthetic register extract, optionally load it.

The rules for synthetic numbers are in ``registry.synthetic_register``.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.register_import import RegisterFileError, register_import
from registry.synthetic_register import DEFAULT_SEED, generate_register


class Command(BaseCommand):
    help = (
        "Write a synthetic persons.csv (--persons N rows) and businesses.csv (--businesses M "
        "rows: CVR numbers with their P- and SE-numbers) to --out DIR in the import_register "
        "formats; the same --seed gives the same files. --load imports them at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", metavar="N", type=int, default=0, help="persons rows")
        parser.add_argument(
            "--businesses", metavar="M", type=int, default=0, help="businesses rows (CVR, P, SE)"
        )
        parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="folder")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument(
            "--load", action="store_true", help="import the files (as import_register does)"
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        persons, businesses = options["persons"], options["businesses"]
        if persons < 0 or businesses < 0:
            raise CommandError("--persons and --businesses cannot be negative.")
        if not persons and not businesses:
            raise CommandError("Give --persons N, --businesses M or both.")
        out: Path = options["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} exists and is not a folder.")
        try:
            files = generate_register(
                out_dir=out, persons=persons, businesses=businesses, seed=options["seed"]
            )
        except OSError as error:
            raise CommandError(f"Cannot write to {out}: {error}") from error
        result: dict[str, Any] = {
            "persons": {"file": str(files.persons), "rows": persons} if files.persons else None,
            "businesses": (
                {"file": str(files.businesses), "rows": businesses} if files.businesses else None
            ),
            "seed": options["seed"],
        }
        if options["load"]:
            try:
                result["import"] = register_import(
                    persons=files.persons, businesses=files.businesses
                ).as_dict()
            except RegisterFileError as error:
                raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        for name in ("persons", "businesses"):
            if result[name]:
                self.stdout.write(f"{name}: {result[name]['rows']} rows in {result[name]['file']}")
        if "import" in result:
            for name in ("persons", "businesses"):
                counts = result["import"][name]
                if counts:
                    self.stdout.write(
                        f"imported {name}: "
                        + ", ".join(f"{value} {key}" for key, value in counts.items())
                    )
