"""The registry part of the demo data (issue 5, acceptance 7): the register, NemKonti from every
channel, a pending activation with its letter, a locked and a time-limited specific account, and
businesses with NemKonti. Idempotent: loading twice changes nothing.

Meant to be called from ``nemkonto.demo.demo_data_load`` after the organisations and payments
set-up (it needs the demo authority's caseworker, its benefits and the demo bank 3000). Every
change goes through the registry's services, so versions, letters, notices and audit records are
those of real use:

- the register: a small synthetic extract (``registry.synthetic_register``) plus the named demo
  recipients below, loaded with ``registry.register_import``;
- the demo bank's API client (fixed, printed credentials) reports the NemKonti of the synthetic
  persons in one bulk report (every tenth person is left without one, for return code 7);
- each named recipient's story is played only while it has no NemKonto history at all, so a
  second load (or a change made in the portal meanwhile) is left alone.

The named demo recipients (synthetic numbers: CPR numbers with a real birth date that is not
1 January and that fail the modulus-11 check, so no real person has them; CVR numbers from
50000000 up, which are not issued yet; P-numbers from 9000000000):

======================  ===========  =====================================================
who                     ID           story
======================  ===========  =====================================================
Karen Demo Nielsen      120385-2331  citizen login; set her NemKonto herself (channel citizen)
Peter Demo Hansen       270672-1970  NemKonto reported by his bank (channel bank)
Mette Demo Jensen       041190-3154  caseworker's change, activated with the letter's code
Søren Demo Larsen       190864-0404  NemKonto from the bank and a caseworker's change waiting
                                     for activation; its letter is unprinted, code printed
Inge Demo Poulsen       300558-2666  locked specific account (e.g. a capital pension)
Mads Demo Madsen        080201-4049  specific account for one week (time-limited)
Demo Byg ApS            CVR 52100003 business login; NemKonto reported by its bank
Demo Byg ApS, Aarhus    P 9000000017 production unit of 52100003; NemKonto from its bank
Demo Konsulent I/S      CVR 64200003 NemKonto reported by its bank
======================  ===========  =====================================================

**The activation code of the waiting change is printed** (our decision): only a hash is stored,
but the demo chose the code when it created the letter, and a demo user needs it to try the
phone menu or the portal's "activate with code". It is printed only while the stored hash still
matches it, so a letter made by someone else is never described with a wrong code.
"""

import csv
import datetime
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from accounts.models import ApiClient, Bank, User
from accounts.oauth import SCOPE_BY_KIND
from payments.models import Benefit
from registry import selectors
from registry.bank_bulk import bank_bulk_apply, bank_bulk_submit
from registry.models import (
    ActivationLetter,
    BankBulkJob,
    NemKonto,
    Recipient,
    SpecificAccount,
)
from registry.register_import import register_import
from registry.services import (
    activation_activate,
    letters_mark,
    nemkonto_change_by_caseworker,
    nemkonto_report_by_bank,
    nemkonto_set,
    specific_account_create,
)
from registry.services.activation import VIA_PHONE, code_hash
from registry.synthetic_register import generate_register

# Printed with the clients; refused in production like all demo data.
BANK_CLIENT_ID = "demo-bank-3000"
BANK_CLIENT_SECRET = "demo-secret-bank-3000-2026"  # noqa: S105
ACTIVATED_CODE = "20260411"  # used at once by the demo itself
PENDING_CODE = "20261208"  # printed: the one a demo user types in
SYNTHETIC_SEED = 2026
LIMITED_DAYS = 7


@dataclass(frozen=True)
class DemoRecipient:
    key: str
    id_type: str
    number: str
    name: str
    address: str
    postcode: str
    city: str
    owner_cvr: str = ""
    login: str = ""  # username of a citizen or business login


PEOPLE = (
    DemoRecipient(
        "citizen",
        "CPR",
        "1203852331",
        "Karen Demo Nielsen",
        "Åboulevarden 12",
        "8000",
        "Aarhus C",
        login="demo-karen",
    ),
    DemoRecipient(
        "bank", "CPR", "2706721970", "Peter Demo Hansen", "Vestergade 3", "5000", "Odense C"
    ),
    DemoRecipient(
        "activated",
        "CPR",
        "0411903154",
        "Mette Demo Jensen",
        "Nørregade 45",
        "9000",
        "Aalborg",
        login="demo-mette",
    ),
    DemoRecipient(
        "pending", "CPR", "1908640404", "Søren Demo Larsen", "Strandvejen 7", "2900", "Hellerup"
    ),
    DemoRecipient(
        "locked", "CPR", "3005582666", "Inge Demo Poulsen", "Kirkevej 2", "6700", "Esbjerg"
    ),
    DemoRecipient(
        "limited", "CPR", "0802014049", "Mads Demo Madsen", "Skolevej 9", "4000", "Roskilde"
    ),
)
BUSINESSES = (
    DemoRecipient(
        "business",
        "CVR",
        "52100003",
        "Demo Byg ApS",
        "Industrivej 20",
        "8200",
        "Aarhus N",
        owner_cvr="52100003",
        login="demo-byg",
    ),
    DemoRecipient(
        "business_unit",
        "P",
        "9000000017",
        "Demo Byg ApS, Aarhus",
        "Havnegade 1",
        "8000",
        "Aarhus C",
        owner_cvr="52100003",
    ),
    DemoRecipient(
        "business_2",
        "CVR",
        "64200003",
        "Demo Konsulent I/S",
        "Algade 5",
        "4000",
        "Roskilde",
        owner_cvr="64200003",
    ),
)

# The accounts of the stories: (reg.nr., account number).
ACCOUNTS = {
    "citizen": {"reg": "0400", "number": "4012345678"},
    "bank": {"reg": "3000", "number": "3100200300"},
    "activated_old": {"reg": "3000", "number": "3100200311"},
    "activated": {"reg": "5301", "number": "0530112233"},
    "pending_old": {"reg": "3000", "number": "3100200322"},
    "pending": {"reg": "7681", "number": "7681445566"},
    "locked_nemkonto": {"reg": "3000", "number": "3100200333"},
    "locked": {"reg": "9570", "number": "9570001234"},
    "limited_nemkonto": {"reg": "3000", "number": "3100200344"},
    "limited": {"reg": "1551", "number": "1551987654"},
    "business": {"reg": "3000", "number": "3200100100"},
    "business_unit": {"reg": "3000", "number": "3200100200"},
    "business_2": {"reg": "3001", "number": "3200100300"},
}


# --- The register ---------------------------------------------------------------------------


def _append_rows(path: Path, rows: list[tuple[str, ...]]) -> None:
    with path.open("a", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)


def _load_register(persons: int, businesses: int) -> dict[str, Any]:
    """The synthetic extract plus the named recipients, through the register import."""
    with tempfile.TemporaryDirectory(prefix="nemkonto-demo-") as folder:
        files = generate_register(
            out_dir=Path(folder), persons=persons, businesses=businesses, seed=SYNTHETIC_SEED
        )
        persons_path = files.persons or Path(folder) / "persons.csv"
        businesses_path = files.businesses or Path(folder) / "businesses.csv"
        for path, header in (
            (persons_path, "cpr,name,address,postcode,city,status\n"),
            (businesses_path, "kind,number,cvr,name,address,postcode,city,status\n"),
        ):
            if not path.exists():
                path.write_text(header, encoding="utf-8")
        _append_rows(
            persons_path,
            [(p.number, p.name, p.address, p.postcode, p.city, "active") for p in PEOPLE],
        )
        _append_rows(
            businesses_path,
            [
                (b.id_type, b.number, b.owner_cvr, b.name, b.address, b.postcode, b.city, "active")
                for b in BUSINESSES
            ],
        )
        with persons_path.open(encoding="utf-8", newline="") as extract:
            synthetic = [row[0] for row in list(csv.reader(extract))[1 : persons + 1]]
        result = register_import(persons=persons_path, businesses=businesses_path)
    return {"import": result.as_dict(), "synthetic_cpr": synthetic}


# --- Logins and the bank's client ---------------------------------------------------------------


def _login(spec: DemoRecipient) -> User:
    kind = User.Kind.CITIZEN if spec.id_type == "CPR" else User.Kind.BUSINESS
    user = User.objects.filter(username=spec.login).first()
    if user is None:
        first, _sep, last = spec.name.partition(" ")
        user = User.objects.create_user(
            spec.login,
            email=f"{spec.login}@borger.example.dk",
            password=None,  # citizens and businesses log in with MitID / MitID Erhverv
            first_name=first,
            last_name=last,
            kind=kind,
            recipient_type=spec.id_type,
            recipient_id=spec.number,
        )
    return user


def _bank_client(bank: Bank) -> ApiClient:
    """The demo bank's client with fixed, printed credentials (demo only; stored hashed)."""
    application_model = get_application_model()
    application = application_model.objects.filter(client_id=BANK_CLIENT_ID).first()
    if application is None:
        application = application_model.objects.create(
            name=f"{bank.name} (demo)",
            client_id=BANK_CLIENT_ID,
            client_secret=BANK_CLIENT_SECRET,
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
            skip_authorization=True,
        )
        return ApiClient.objects.create(
            application=application, kind=ApiClient.Kind.BANK, bank=bank
        )
    return ApiClient.objects.get(application=application)


# --- The stories ----------------------------------------------------------------------------


@contextmanager
def _code(code: str) -> Iterator[None]:
    """The activation code of the letter written inside: chosen by the demo, so it can be
    used or printed (the service keeps only its hash)."""
    with mock.patch("registry.services.activation.generate_code", return_value=code):
        yield


def _play(
    spec: DemoRecipient,
    *,
    user: User | None,
    bank_client: ApiClient,
    caseworker: User,
    operator: User,
    locked_benefit: str,
    limited_benefit: str,
) -> None:
    """Play one recipient's story, through the services."""
    key, id_type, number = spec.key, spec.id_type, spec.number

    def by_bank(account_key: str) -> None:
        nemkonto_report_by_bank(
            actor=bank_client, id_type=id_type, id_number=number, account=ACCOUNTS[account_key]
        )

    if key == "citizen":
        assert user is not None
        nemkonto_set(actor=user, account=ACCOUNTS["citizen"])
    elif key in ("bank", "business", "business_unit", "business_2"):
        by_bank(key)
    elif key == "activated":
        by_bank("activated_old")
        with _code(ACTIVATED_CODE):
            change = nemkonto_change_by_caseworker(
                actor=caseworker, id_type=id_type, id_number=number, account=ACCOUNTS[key]
            )
        letters_mark(actor=operator, letter_ids=[change.letter.pk], status="sent")
        activation_activate(id_type=id_type, id_number=number, code=ACTIVATED_CODE, via=VIA_PHONE)
    elif key == "pending":
        by_bank("pending_old")
        with _code(PENDING_CODE):
            nemkonto_change_by_caseworker(
                actor=caseworker, id_type=id_type, id_number=number, account=ACCOUNTS[key]
            )
    elif key in ("locked", "limited"):
        by_bank(f"{key}_nemkonto")
        specific_account_create(
            actor=caseworker,
            id_type=id_type,
            id_number=number,
            benefit_code=locked_benefit if key == "locked" else limited_benefit,
            account=ACCOUNTS[key],
            locked=key == "locked",
            end_date=(
                timezone.localdate() + datetime.timedelta(days=LIMITED_DAYS)
                if key == "limited"
                else None
            ),
        )


def _bulk_report(bank_client: ApiClient, synthetic_cpr: list[str]) -> BankBulkJob | None:
    """The bank's first bulk report: NemKonti for nine in ten synthetic persons."""
    job = BankBulkJob.objects.filter(client=bank_client).order_by("created_at", "id").first()
    if job is not None or not synthetic_cpr:
        return job
    changes = [
        {
            "recipient": {"type": "CPR", "id": cpr},
            "account": {"reg": "3000", "number": f"6{cpr[-9:]}"},
        }
        for position, cpr in enumerate(synthetic_cpr)
        if position % 10 != 9
    ]
    submitted = bank_bulk_submit(actor=bank_client, changes=changes).job
    # Applied at once (the demo must describe it); the task queued after the commit finds it
    # done and does nothing.
    return bank_bulk_apply(job_id=submitted.pk)


# --- The description --------------------------------------------------------------------------


def _nemkonto(version: NemKonto | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "version": version.pk,
        "account": version.stored_account.as_api(),
        "masked": version.masked_account,
        "channel": version.channel,
        "by": version.actor_label,
        "state": version.state,
    }


def _pending_code(version: NemKonto | None) -> dict[str, Any] | None:
    if version is None or version.state != NemKonto.State.PENDING:
        return None
    letter = ActivationLetter.objects.filter(nemkonto=version).first()
    if letter is None:
        return None
    known = code_hash(letter.code_salt, PENDING_CODE) == letter.code_hash
    return {
        "letter": letter.pk,
        "letter_status": letter.status,
        "code": PENDING_CODE if known else None,
        "expires_at": letter.expires_at.isoformat(),
    }


def _describe(spec: DemoRecipient, recipient: Recipient) -> dict[str, Any]:
    waiting = selectors.nemkonto_waiting_at(recipient=recipient)
    specific = SpecificAccount.objects.filter(
        recipient=recipient, state=SpecificAccount.State.ACTIVE
    ).select_related("authority", "benefit")
    return {
        "story": spec.key,
        "type": spec.id_type,
        "id": spec.number,
        "name": spec.name,
        "login": ({"username": spec.login} if spec.login else None),
        "nemkonto": _nemkonto(selectors.nemkonto_at(recipient=recipient)),
        "waiting": _nemkonto(waiting),
        "activation": _pending_code(waiting),
        "specific_accounts": [
            {
                "authority": s.authority.code,
                "benefit": s.benefit.code,
                "account": s.stored_account.as_api(),
                "locked": s.locked,
                "end_date": s.end_date.isoformat() if s.end_date else None,
            }
            for s in specific.order_by("benefit__code")
        ],
    }


@transaction.atomic
def demo_registry_load(
    *,
    operator: User,
    caseworker: User,
    locked_benefit: str,
    limited_benefit: str,
    bank_reg: str = "3000",
    synthetic_persons: int = 400,
    synthetic_businesses: int = 40,
) -> dict[str, Any]:
    """Create the registry's demo data if missing and describe it (JSON-able).

    ``caseworker`` needs the NemKonto and specific-account role profiles in an authority that
    has the benefits ``locked_benefit`` and ``limited_benefit``; ``operator`` marks the letter of
    the activated change as sent; the bank ``bank_reg`` must exist (the payments demo creates
    it). Raises what the services raise if that set-up is missing.
    """
    bank = Bank.objects.get(reg=bank_reg)
    for code in (locked_benefit, limited_benefit):
        Benefit.objects.get(authority=caseworker.authority, code=code)
    register = _load_register(synthetic_persons, synthetic_businesses)
    bank_client = _bank_client(bank)
    described = []
    for spec in (*PEOPLE, *BUSINESSES):
        recipient = Recipient.objects.get(id_type=spec.id_type, id_number=spec.number)
        user = _login(spec) if spec.login else None
        if not NemKonto.objects.filter(recipient=recipient).exists():
            _play(
                spec,
                user=user,
                bank_client=bank_client,
                caseworker=caseworker,
                operator=operator,
                locked_benefit=locked_benefit,
                limited_benefit=limited_benefit,
            )
        described.append(_describe(spec, recipient))
    job = _bulk_report(bank_client, register["synthetic_cpr"])
    return {
        "register": {
            "persons": Recipient.objects.filter(id_type="CPR").count(),
            "businesses": Recipient.objects.exclude(id_type="CPR").count(),
            "synthetic_seed": SYNTHETIC_SEED,
        },
        "bank_client": {
            "bank_reg": bank.reg,
            "client_id": BANK_CLIENT_ID,
            "client_secret": BANK_CLIENT_SECRET,
            "scopes": [SCOPE_BY_KIND[ApiClient.Kind.BANK]],
        },
        "bulk_report": (
            {
                "job_id": job.pk,
                "status": job.status,
                "received": job.received,
                "changed": job.changed,
                "unchanged": job.unchanged,
                "rejected": job.rejected,
            }
            if job is not None
            else None
        ),
        "recipients": described,
        "logins": [
            {
                "username": spec.login,
                "login_with": "MitID" if spec.id_type == "CPR" else "MitID Erhverv",
                "role": "citizen" if spec.id_type == "CPR" else "business",
                "recipient": {"type": spec.id_type, "id": spec.number},
            }
            for spec in (*PEOPLE, *BUSINESSES)
            if spec.login
        ],
    }
