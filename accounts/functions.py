"""The functions a role profile can contain (DOMAIN.md section 6).

Each function is a Django permission on ``LosUnit``: a grant on a unit gives the user the
permissions of the profile on that unit and all its sub-units.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Function(models.TextChoices):
    UPDATE_NEMKONTO = "update_nemkonto", _("Update NemKonto for citizens and businesses")
    UPDATE_SPECIFIC_ACCOUNTS = "update_specific_accounts", _("Update specific accounts")
    SEARCH_PENDING_PAYMENTS = "search_pending_payments", _("Search pending payments")
    SEARCH_COMPLETED_PAYMENTS = "search_completed_payments", _("Search completed payments")
    STOP_PENDING_PAYMENTS = "stop_pending_payments", _("Stop pending payments")
    MAINTAIN_BENEFITS = "maintain_benefits", _("Maintain the authority's benefits")
    LOCAL_ADMINISTRATION = "local_administration", _("Local administration")

    @property
    def perm(self) -> str:
        """The permission name for ``user.has_perm`` (``accounts.<codename>``)."""
        return f"accounts.{self.value}"
