from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Organisations and users")

    def ready(self) -> None:
        from accounts.data_changes import connect_task_signals

        connect_task_signals()
