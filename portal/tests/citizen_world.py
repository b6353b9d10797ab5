"""The data the citizen and business page tests share, made through the registry's services:
a citizen (e-mail login) with a NemKonto from the portal, an unlocked and a locked specific
account from a caseworker, and a business with a NemKonto from its bank.

Each test module has a ``world`` fixture that calls ``build_world``; activation letters get a
known code and a stub PDF (WeasyPrint is slow and not under test here).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from accounts.models import ApiClient, Authority, Bank, User
from accounts.tests.factories import (
    AuthorityFactory,
    CitizenFactory,
    EmployeeFactory,
    LosUnitFactory,
    UserFactory,
    grant,
)
from payments.models import Benefit
from registry.models import NemKonto, Recipient, SpecificAccount
from registry.services import (
    nemkonto_change_by_caseworker,
    nemkonto_report_by_bank,
    nemkonto_set,
    specific_account_create,
)

CPR = "0101901234"
CVR = "29500029"
CODE = "12345678"
NEMKONTO = {"reg": "3000", "number": "1234567"}  # shown as ****4567
NEW_ACCOUNT = {"reg": "5301", "number": "7654321"}  # Arbejdernes Landsbank, ****4321
OPEN_ACCOUNT = {"reg": "9570", "number": "1112223"}  # the unlocked specific account, ****2223
LOCKED_ACCOUNT = {"reg": "9570", "number": "9998887"}  # the locked one, ****8887
BUSINESS_ACCOUNT = {"reg": "3000", "number": "3200100100"}
PDF_STUB = b"%PDF-1.4\n% test stub\n%%EOF\n"


@dataclass
class World:
    citizen: User
    person: Recipient
    business: User
    company: Recipient
    authority: Authority
    nk_caseworker: User
    sa_caseworker: User
    open_benefit: Benefit
    locked_benefit: Benefit
    open_specific: SpecificAccount
    locked_specific: SpecificAccount
    bank_client: ApiClient

    def pending_change(self, account: dict[str, str] | None = None) -> NemKonto:
        """A caseworker's change of the citizen's NemKonto, waiting for the code CODE."""
        return nemkonto_change_by_caseworker(
            actor=self.nk_caseworker, id_type="CPR", id_number=CPR, account=account or NEW_ACCOUNT
        ).version


def _recipient(id_type: str, number: str, name: str) -> Recipient:
    return Recipient.objects.create(
        id_type=id_type,
        id_number=number,
        cvr=number if id_type == "CVR" else "",
        name=name,
        address="Testvej 1",
        postcode="1000",
        city="København K",
    )


def _bank_client() -> ApiClient:
    from oauth2_provider.models import Application

    bank = Bank.objects.create(reg="3000", bic="DABADKKK", name="Danske Bank")
    application = Application.objects.create(
        name="Danske Bank",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    return ApiClient.objects.create(application=application, kind=ApiClient.Kind.BANK, bank=bank)


def build_world(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NEMKONTO_LOOKUP_HASH_KEY = "lookup-hash-test-key"
    monkeypatch.setattr("registry.services.activation.generate_code", lambda: CODE)
    monkeypatch.setattr("registry.services.activation.letter_pdf", lambda content: PDF_STUB)

    person = _recipient("CPR", CPR, "Karen Testesen")
    company = _recipient("CVR", CVR, "Firma ApS")
    citizen = CitizenFactory.create(
        username="karen",
        recipient_id=CPR,
        email="karen@borger.example.dk",
        first_name="Karen",
        last_name="Testesen",
    )
    business = UserFactory.create(
        username="firma",
        kind=User.Kind.BUSINESS,
        recipient_type="CVR",
        recipient_id=CVR,
        first_name="Firma ApS",
        last_name="",
    )
    authority = AuthorityFactory.create(code="kbh", name="Testkøbing Kommune", cvr="29500002")
    unit = LosUnitFactory.create(authority=authority, code="ROOT", name="Kommunen")
    nk_caseworker = EmployeeFactory.create(username="nemkonto-sb", authority=authority)
    grant(nk_caseworker, "nks-opdater-nemkonto", unit)
    sa_caseworker = EmployeeFactory.create(username="speckonto-sb", authority=authority)
    grant(sa_caseworker, "nks-opdater-speckonto", unit)
    open_benefit = Benefit.objects.create(authority=authority, code="BS", name="Boligstøtte")
    locked_benefit = Benefit.objects.create(authority=authority, code="KP", name="Kapitalpension")

    nemkonto_set(actor=citizen, account=NEMKONTO)
    bank_client = _bank_client()
    nemkonto_report_by_bank(
        actor=bank_client, id_type="CVR", id_number=CVR, account=BUSINESS_ACCOUNT
    )

    def specific(benefit: Benefit, account: dict[str, str], locked: bool) -> SpecificAccount:
        return specific_account_create(
            actor=sa_caseworker,
            id_type="CPR",
            id_number=CPR,
            benefit_code=benefit.code,
            account=account,
            locked=locked,
        )

    return World(
        citizen=citizen,
        person=person,
        business=business,
        company=company,
        authority=authority,
        nk_caseworker=nk_caseworker,
        sa_caseworker=sa_caseworker,
        open_benefit=open_benefit,
        locked_benefit=locked_benefit,
        open_specific=specific(open_benefit, OPEN_ACCOUNT, locked=False),
        locked_specific=specific(locked_benefit, LOCKED_ACCOUNT, locked=True),
        bank_client=bank_client,
    )


def active_nemkonto(recipient: Recipient) -> NemKonto | None:
    return NemKonto.objects.filter(recipient=recipient, state=NemKonto.State.ACTIVE).first()
