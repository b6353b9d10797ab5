from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class NemkontoConfig(AppConfig):
    name = "nemkonto"
    verbose_name = _("NemKonto")

    def ready(self) -> None:
        from nemkonto.trigger_ignore import install_fast_should_ignore

        # For every app (this one has no models, so migrate sends it no signal of its own).
        post_migrate.connect(install_fast_should_ignore, dispatch_uid="fast_should_ignore")
