"""The demo identities of the local OpenID provider (``manage.py oidc_provider``).

One identity for each named demo citizen and business of ``registry.demo`` and each demo authority
employee of ``nemkonto.demo``, with the claims a MitID or MitID Erhverv broker would send, under
the claim names of the settings (``NEMKONTO_OIDC_CLAIM_*``). The subject (``sub``) is the name a
newcomer picks on the provider's page: the login name where the demo has one (``demo-karen``,
``nemby-sagsbehandler``), otherwise ``demo-<story>`` (``demo-pending``: the citizen whose
caseworker change waits for the code).
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.demo import DemoAuthority
from nemkonto.demo import MUNICIPALITY, STATE_AGENCY
from registry.demo import BUSINESSES, PEOPLE, DemoRecipient

# What each named demo person's story (registry.demo) lets a newcomer try.
STORIES = {
    "citizen": "her own NemKonto",
    "bank": "NemKonto from his bank",
    "activated": "caseworker's change, activated",
    "pending": "caseworker's change waiting for its code",
    "locked": "locked specific account",
    "limited": "time-limited specific account",
}


@dataclass(frozen=True)
class DemoIdentity:
    sub: str
    method: str  # "MitID" or "MitID Erhverv"
    role: str
    description: str
    claims: dict[str, Any]

    def provider_claims(self) -> dict[str, Any]:
        """The claims as the provider's user list takes them (with ``sub``)."""
        return {**self.claims, "sub": self.sub}


def _name_claims(name: str) -> dict[str, str]:
    given, _sep, family = name.rpartition(" ")
    return {"name": name, "given_name": given or family, "family_name": family}


def _recipient(spec: DemoRecipient) -> DemoIdentity:
    sub = spec.login or f"demo-{spec.key.replace('_', '-')}"
    if spec.id_type == "CPR":
        return DemoIdentity(
            sub=sub,
            method="MitID",
            role="citizen",
            description=(
                f"{spec.name}, CPR {spec.number[:6]}-{spec.number[6:]}: "
                f"{STORIES.get(spec.key, spec.key)}"
            ),
            claims={settings.NEMKONTO_OIDC_CLAIM_CPR: spec.number, **_name_claims(spec.name)},
        )
    return DemoIdentity(
        sub=sub,
        method="MitID Erhverv",
        role="business",
        description=f"{spec.name}, CVR {spec.number}",
        claims={settings.NEMKONTO_OIDC_CLAIM_CVR: spec.number, "name": spec.name},
    )


def _employees(authority: DemoAuthority) -> list[DemoIdentity]:
    identities = []
    for employee in authority.employees:
        claims: dict[str, Any] = {
            settings.NEMKONTO_OIDC_CLAIM_CVR: authority.cvr,
            settings.NEMKONTO_OIDC_CLAIM_EMPLOYEE: employee.username,
            **_name_claims(f"{employee.first_name} {employee.last_name}"),
        }
        sub = str(claims.pop("sub", employee.username))
        profiles = ", ".join(sorted({code for code, _unit in employee.grants}))
        identities.append(
            DemoIdentity(
                sub=sub,
                method="MitID Erhverv",
                role=employee.role,
                description=f"{authority.name}: {profiles}",
                claims=claims,
            )
        )
    return identities


def demo_identities() -> list[DemoIdentity]:
    """Every demo identity, citizens first, then businesses, then authority staff."""
    recipients = [
        _recipient(spec) for spec in (*PEOPLE, *BUSINESSES) if spec.id_type in ("CPR", "CVR")
    ]
    return [*recipients, *_employees(MUNICIPALITY), *_employees(STATE_AGENCY)]
