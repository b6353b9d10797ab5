"""A synthetic CPR/CVR register extract of any size, for the demo and the benchmarks.

Writes the two CSV formats that ``registry.register_import`` reads (API.md, "Register extract
formats"), one row at a time: nothing but the current business's handful of units is held in
memory, so a file of tens of millions of rows needs no more memory than one of ten. The same
``seed`` gives byte-identical files.

Numbers that can never belong to a real person or business **(our rules)**:

- CPR: a real date of birth between 1920 and 2025 with the 7th digit that gives its century,
  never 1 January, and a number that **fails** the modulus-11 check. Every CPR number issued before
  2007 passes modulus 11, and since 2007 numbers without it have been issued only for birth dates
  on 1 January (the CPR office's list), so a synthetic number is never a real or test person's.
- CVR: 50000000 to 89999999 with a correct check digit; CVR numbers are issued upwards and
  have not reached 50000000. SE numbers: 90000000 to 99999999. P-numbers: 9000000000 and up
  (real ones begin with 10).

Each number is unique within a file because it is the image of the row's index under a seeded
permutation (an affine map modulo the size of the number space), so no set of used numbers is kept.
"""

import csv
import datetime
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

PERSONS_HEADER = ("cpr", "name", "address", "postcode", "city", "status")
BUSINESSES_HEADER = ("kind", "number", "cvr", "name", "address", "postcode", "city", "status")
PERSONS_FILE = "persons.csv"
BUSINESSES_FILE = "businesses.csv"
DEFAULT_SEED = 2026

FIRST_NAMES = (
    "Anne", "Kirsten", "Mette", "Hanne", "Helle", "Anna", "Susanne", "Lene", "Maria", "Marianne",
    "Lone", "Camilla", "Pia", "Louise", "Charlotte", "Tina", "Gitte", "Bente", "Emma", "Ida",
    "Sofie", "Freja", "Clara", "Laura", "Karen", "Inge", "Birgitte", "Signe", "Julie", "Astrid",
    "Peter", "Michael", "Lars", "Jens", "Thomas", "Henrik", "Søren", "Christian", "Martin", "Jan",
    "Morten", "Jesper", "Anders", "Niels", "Mads", "Rasmus", "Per", "Hans", "Poul", "Kim",
    "Frederik", "Mikkel", "William", "Noah", "Oscar", "Lucas", "Carl", "Magnus", "Emil", "Jørgen",
)  # fmt: skip
MIDDLE_NAMES = (
    "Marie", "Louise", "Kristine", "Margrethe", "Elisabeth", "Juul", "Holm", "Bach", "Skov",
    "Dahl", "Krogh", "Lykke", "Friis", "Vinther", "Bøgh", "Kjær", "Brink", "Damgaard",
)  # fmt: skip
SURNAMES = (
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen",
    "Christiansen", "Poulsen", "Johansen", "Møller", "Mortensen", "Knudsen", "Jakobsen",
    "Mikkelsen", "Olesen", "Frederiksen", "Laursen", "Henriksen", "Lund", "Schmidt", "Eriksen",
    "Holm", "Kristiansen", "Clausen", "Simonsen", "Svendsen", "Andreasen", "Iversen", "Jeppesen",
    "Mogensen", "Jespersen", "Nissen", "Lauridsen", "Frandsen", "Østergaard", "Jepsen", "Kjær",
    "Carlsen", "Vestergaard", "Nørgaard", "Dahl", "Skov", "Søndergaard", "Bertelsen", "Bruun",
)  # fmt: skip
STREETS = (
    "Vestergade", "Østergade", "Nørregade", "Søndergade", "Kirkevej", "Skovvej", "Strandvejen",
    "Bakkevej", "Engvej", "Møllevej", "Stationsvej", "Skolevej", "Birkevej", "Egevej", "Bøgevej",
    "Lindevej", "Ahornvej", "Toftevej", "Rosenvænget", "Parkvej", "Havnegade", "Algade",
    "Storegade", "Jernbanegade", "Torvet", "Vesterbrogade", "Nørrebrogade", "Amagerbrogade",
    "Frederiksberg Allé", "Kongevejen", "Ringvejen", "Grønnegade", "Slotsgade", "Åboulevarden",
    "Fælledvej", "Mosevej", "Hybenvej", "Kastanievej", "Tjørnevej", "Vibevej",
)  # fmt: skip
# Real Danish postcodes with their city names.
POSTCODES = (
    ("1050", "København K"), ("1620", "København V"), ("2100", "København Ø"),
    ("2200", "København N"), ("2300", "København S"), ("2400", "København NV"),
    ("2450", "København SV"), ("2500", "Valby"), ("2610", "Rødovre"), ("2620", "Albertslund"),
    ("2630", "Taastrup"), ("2700", "Brønshøj"), ("2720", "Vanløse"), ("2730", "Herlev"),
    ("2750", "Ballerup"), ("2800", "Kongens Lyngby"), ("2820", "Gentofte"), ("2900", "Hellerup"),
    ("2970", "Hørsholm"), ("3000", "Helsingør"), ("3400", "Hillerød"), ("3600", "Frederikssund"),
    ("3700", "Rønne"), ("4000", "Roskilde"), ("4100", "Ringsted"), ("4200", "Slagelse"),
    ("4300", "Holbæk"), ("4400", "Kalundborg"), ("4600", "Køge"), ("4700", "Næstved"),
    ("4800", "Nykøbing F"), ("5000", "Odense C"), ("5200", "Odense V"), ("5500", "Middelfart"),
    ("5700", "Svendborg"), ("6000", "Kolding"), ("6100", "Haderslev"), ("6200", "Aabenraa"),
    ("6400", "Sønderborg"), ("6700", "Esbjerg"), ("6800", "Varde"), ("7000", "Fredericia"),
    ("7100", "Vejle"), ("7400", "Herning"), ("7500", "Holstebro"), ("7700", "Thisted"),
    ("7800", "Skive"), ("8000", "Aarhus C"), ("8200", "Aarhus N"), ("8210", "Aarhus V"),
    ("8300", "Odder"), ("8600", "Silkeborg"), ("8700", "Horsens"), ("8800", "Viborg"),
    ("8900", "Randers C"), ("9000", "Aalborg"), ("9200", "Aalborg SV"), ("9400", "Nørresundby"),
    ("9800", "Hjørring"), ("9900", "Frederikshavn"),
)  # fmt: skip
TRADES = (
    "Tømrerfirma", "VVS", "Bageri", "Revision", "Rengøring", "Transport", "Maskinstation",
    "Autoværksted", "El-service", "Frisør", "Consult", "Byg", "Malerfirma", "IT", "Handel",
    "Ejendomme", "Holding", "Blomster", "Tandklinik", "Advokatfirma", "Køkken", "Anlæg",
)  # fmt: skip
LEGAL_FORMS = ("ApS", "ApS", "ApS", "A/S", "I/S", "K/S", "")
SIDES = ("tv.", "th.", "mf.")

# (status, cumulative probability): mostly active (DOMAIN.md section 2).
PERSON_STATUSES = (("active", 0.93), ("dead", 0.97), ("emigrated", 0.99), ("unknown_address", 1.0))
BUSINESS_STATUSES = (("active", 0.9), ("ceased", 1.0))

# CPR: birth dates from 1920-01-01 to 2025-12-31 and 4 usable 7th digits per century (0-3 give
# 1900-1999; 4-7 give 2000-2036/2057 for years up to 25), each with 1,000 serial numbers.
_FIRST_BIRTH_DATE = datetime.date(1920, 1, 1)
_BIRTH_DAYS = (datetime.date(2025, 12, 31) - _FIRST_BIRTH_DATE).days + 1
_SERIALS_PER_DAY = 4_000
_CPR_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
_CVR_BASES = (5_000_000, 9_000_000)  # 7-digit bases; the check digit makes 50000000-89999999
_SE_RANGE = (90_000_000, 100_000_000)
_P_RANGE = (9_000_000_000, 10_000_000_000)


@dataclass(frozen=True)
class _Permutation:
    """x -> (a*x + b) mod n: a bijection of range(n), so distinct indexes give distinct numbers."""

    n: int
    a: int
    b: int

    @classmethod
    def seeded(cls, n: int, rng: random.Random) -> "_Permutation":
        while True:
            a = rng.randrange(n // 3, n)
            if math.gcd(a, n) == 1:
                return cls(n, a, rng.randrange(n))

    def __call__(self, x: int) -> int:
        return (self.a * x + self.b) % self.n


def _choice(rng: random.Random, seq: tuple[str, ...]) -> str:
    # rng.random() rather than rng.choice(): a third of the cost, and just as deterministic.
    return seq[int(rng.random() * len(seq))]


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for value, bound in table:
        if roll < bound:
            return value
    return table[-1][0]


def _address(rng: random.Random) -> tuple[str, str, str]:
    random_ = rng.random
    street = f"{_choice(rng, STREETS)} {int(random_() * 180) + 1}"
    if random_() < 0.3:
        street += f", {int(random_() * 6) + 1}. {_choice(rng, SIDES)}"
    postcode, city = POSTCODES[int(random_() * len(POSTCODES))]
    return street, postcode, city


def _person_name(rng: random.Random) -> str:
    if rng.random() < 0.3:
        first, middle = _choice(rng, FIRST_NAMES), _choice(rng, MIDDLE_NAMES)
        return f"{first} {middle} {_choice(rng, SURNAMES)}"
    return f"{_choice(rng, FIRST_NAMES)} {_choice(rng, SURNAMES)}"


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


def _cpr_numbers(rng: random.Random) -> Iterator[str]:
    """Distinct synthetic CPR numbers (see the module docstring), in a seeded order."""
    # Precomputed halves (39k birth days, 2 x 4,000 serials): the modulus-11 sum of a number is
    # the sum of its halves' sums, so each number costs two look-ups.
    days: list[tuple[str, int, int] | None] = []
    for offset in range(_BIRTH_DAYS):
        born = _FIRST_BIRTH_DATE + datetime.timedelta(days=offset)
        if born.month == 1 and born.day == 1:
            days.append(None)
            continue
        ddmmyy = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}"
        days.append((ddmmyy, _weighted(ddmmyy, _CPR_WEIGHTS[:6]), 0 if born.year < 2000 else 1))
    serials: tuple[list[tuple[str, int]], ...] = ([], [])
    for century in (0, 1):
        for serial in range(_SERIALS_PER_DAY):
            digits = f"{serial // 1000 + 4 * century}{serial % 1000:03d}"
            serials[century].append((digits, _weighted(digits, _CPR_WEIGHTS[6:])))
    permute = _Permutation.seeded(_BIRTH_DAYS * _SERIALS_PER_DAY, rng)
    for index in range(permute.n):
        day, serial = divmod(permute(index), _SERIALS_PER_DAY)
        birth_day = days[day]
        if birth_day is None:
            continue
        ddmmyy, day_sum, century = birth_day
        digits, serial_sum = serials[century][serial]
        if (day_sum + serial_sum) % 11 == 0:
            continue  # passes modulus 11: could be a real person's number
        yield ddmmyy + digits


def _cvr_numbers(rng: random.Random) -> Iterator[str]:
    low, high = _CVR_BASES
    permute = _Permutation.seeded(high - low, rng)
    for index in range(permute.n):
        base = str(low + permute(index))
        check = -_weighted(base, _CVR_WEIGHTS) % 11
        if check < 10:
            yield f"{base}{check}"


def _numbers_in(low: int, high: int, rng: random.Random) -> Iterator[str]:
    permute = _Permutation.seeded(high - low, rng)
    for index in range(permute.n):
        yield str(low + permute(index))


def person_rows(count: int, rng: random.Random) -> Iterator[tuple[str, ...]]:
    """``count`` rows of the persons format (without the header)."""
    numbers = _cpr_numbers(rng)
    for _ in range(count):
        status = _pick(rng, PERSON_STATUSES)
        if status in ("emigrated", "unknown_address"):
            address, postcode, city = "", "", ""  # no Danish address known
        else:
            address, postcode, city = _address(rng)
        yield (next(numbers), _person_name(rng), address, postcode, city, status)


def business_rows(count: int, rng: random.Random) -> Iterator[tuple[str, ...]]:
    """``count`` rows of the businesses format: each CVR row followed by its P- and SE-numbers.

    A business has 0 to 5 P-numbers (production units, mostly one) and usually no SE number
    besides its CVR; the last business may lose units to keep the row count exact.
    """
    cvrs = _cvr_numbers(rng)
    p_numbers = _numbers_in(*_P_RANGE, rng)
    se_numbers = _numbers_in(*_SE_RANGE, rng)
    written = 0
    while written < count:
        cvr = next(cvrs)
        trade, form = _choice(rng, TRADES), _choice(rng, LEGAL_FORMS)
        name = f"{_choice(rng, SURNAMES)} {trade} {form}".strip()
        status = _pick(rng, BUSINESS_STATUSES)
        address, postcode, city = _address(rng)
        units: list[tuple[str, ...]] = [("CVR", cvr, cvr, name, address, postcode, city, status)]
        roll = rng.random()
        p_count = 0 if roll < 0.3 else 1 if roll < 0.85 else 2 + int(rng.random() * 4)
        for unit in range(p_count):
            unit_address, unit_postcode, unit_city = (
                (address, postcode, city) if unit == 0 else _address(rng)
            )
            unit_name = name if unit == 0 else f"{name}, afd. {unit_city}"
            unit_status = status if status == "ceased" else _pick(rng, BUSINESS_STATUSES)
            p_number = next(p_numbers)
            units.append(
                ("P", p_number, cvr, unit_name, unit_address, unit_postcode, unit_city, unit_status)
            )
        if rng.random() < 0.2:
            for _ in range(1 + int(rng.random() * 3)):
                units.append(("SE", next(se_numbers), cvr, name, address, postcode, city, status))
        yield from units[: count - written]
        written += min(len(units), count - written)


def write_persons(out: TextIO, count: int, *, seed: int = DEFAULT_SEED) -> None:
    """Write a persons extract of ``count`` rows (with header) to a text file opened newline=''."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PERSONS_HEADER)
    rng = random.Random(f"persons-{seed}")  # noqa: S311 - synthetic data, not secrets
    writer.writerows(person_rows(count, rng))


def write_businesses(out: TextIO, count: int, *, seed: int = DEFAULT_SEED) -> None:
    """Write a businesses extract of ``count`` rows (CVR, P and SE rows together, with header)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BUSINESSES_HEADER)
    rng = random.Random(f"businesses-{seed}")  # noqa: S311 - synthetic data, not secrets
    writer.writerows(business_rows(count, rng))


@dataclass(frozen=True)
class SyntheticRegister:
    persons: Path | None
    businesses: Path | None


def generate_register(
    *, out_dir: Path, persons: int, businesses: int, seed: int = DEFAULT_SEED
) -> SyntheticRegister:
    """Write ``persons.csv`` and/or ``businesses.csv`` (a count of 0 skips the file) to out_dir."""
    if persons < 0 or businesses < 0:
        raise ValueError("row counts cannot be negative")
    out_dir.mkdir(parents=True, exist_ok=True)
    persons_path = businesses_path = None
    if persons:
        persons_path = out_dir / PERSONS_FILE
        with persons_path.open("w", encoding="utf-8", newline="") as out:
            write_persons(out, persons, seed=seed)
    if businesses:
        businesses_path = out_dir / BUSINESSES_FILE
        with businesses_path.open("w", encoding="utf-8", newline="") as out:
            write_businesses(out, businesses, seed=seed)
    return SyntheticRegister(persons=persons_path, businesses=businesses_path)
