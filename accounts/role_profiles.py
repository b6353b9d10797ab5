"""The standard role profiles shipped with NemKonto (DOMAIN.md section 6).

Names follow the NKS-* convention of the source guide; descriptions are translated for display.
The data migration ``0003_standard_role_profiles`` creates them (with the definitions as they
were then); a change of a definition here needs a new data migration.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.functions import Function


@dataclass(frozen=True)
class StandardProfile:
    code: str
    name: str
    description: Promise
    functions: tuple[Function, ...]


STANDARD_PROFILES: tuple[StandardProfile, ...] = (
    StandardProfile(
        "nks-opdater-nemkonto",
        "NKS-Opdater-NemKonto",
        _("Report a new NemKonto or change it for citizens and businesses (needs activation)."),
        (Function.UPDATE_NEMKONTO,),
    ),
    StandardProfile(
        "nks-opdater-speckonto",
        "NKS-Opdater-SpecKonto",
        _("Create, change, lock and delete specific accounts for the authority's benefits."),
        (Function.UPDATE_SPECIFIC_ACCOUNTS,),
    ),
    StandardProfile(
        "nks-soeg-bet",
        "NKS-Søg-Bet",
        _("Search the authority's pending payments and see their history."),
        (Function.SEARCH_PENDING_PAYMENTS,),
    ),
    StandardProfile(
        "nks-soeg-gennemf-bet",
        "NKS-Søg-Gennemf-Bet",
        _("Search the authority's completed payments, including the account they went to."),
        (Function.SEARCH_COMPLETED_PAYMENTS,),
    ),
    StandardProfile(
        "nks-stop-bet",
        "NKS-Stop-Bet",
        _("Stop the authority's pending payments before they are forwarded to the bank."),
        (Function.SEARCH_PENDING_PAYMENTS, Function.STOP_PENDING_PAYMENTS),
    ),
    StandardProfile(
        "nks-ydelser",
        "NKS-Ydelser",
        _("Create and change the authority's benefits (ydelser)."),
        (Function.MAINTAIN_BENEFITS,),
    ),
    StandardProfile(
        "nks-lokal-admin",
        "NKS-Lokal-Admin",
        _("Local administration: create and deactivate users, grant and revoke role profiles."),
        (Function.LOCAL_ADMINISTRATION,),
    ),
)

STANDARD_BY_CODE = {profile.code: profile for profile in STANDARD_PROFILES}
