from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NemkontoConfig(AppConfig):
    name = "nemkonto"
    verbose_name = _("NemKonto")
