from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _


class BankClosure(models.Model):
    """An ad-hoc bank closing day on top of the statutory ones (DOMAIN.md section 10).

    Only closures: Danish banks never open on a statutory closing day, so there is no
    "open anyway" override. The statutory days live in code (``payments.calendar``).
    """

    date = models.DateField(_("date"), unique=True)
    reason = models.CharField(
        _("reason"), max_length=200, help_text=_("Shown wherever the closing day is listed.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # PROTECT: who closed a bank day is audit information and must not vanish with a user.
    # Nullable for closures created by data migrations or scripts.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["date"]
        verbose_name = _("bank closure")
        verbose_name_plural = _("bank closures")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.reason}"

    def clean(self) -> None:
        # A closure on a day that is closed anyway changes nothing; it is almost always a
        # mistyped date, so tell the operator instead of storing it.
        from payments.calendar import closing_days

        if self.date is None:
            return
        if self.date.weekday() >= 5:
            name = str(WEEKDAYS[self.date.weekday()])
        else:
            name = closing_days(self.date.year, include_overrides=False).get(self.date, "")
        if name:
            raise ValidationError(
                {
                    "date": ValidationError(
                        _("Banks are already closed on this day (%(name)s)."),
                        code="already_closed",
                        params={"name": name},
                    )
                }
            )


class PaymentSystem(models.Model):
    """A payment system (*betalingssystem*) that sends payments for one or more authorities."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("payment system")
        verbose_name_plural = _("payment systems")

    def __str__(self) -> str:
        return self.name
