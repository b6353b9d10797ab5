"""Texts shared by letters and notices: the standard wording and how changes are described."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.models import Channel

# DOMAIN.md section 11: the standard wording of every letter about payment, pointing to our own
# information page. Danish: "Pengene vil blive udbetalt til din NemKonto. Du kan læse mere på …".
STANDARD_WORDING = gettext_lazy(
    "The money will be paid into your NemKonto. You can read more at %(url)s"
)

DEFAULT_PUBLIC_URL = "http://localhost:8000"
DEFAULT_PHONE = "70 10 20 30"


def public_url() -> str:
    """The portal's public address (``NEMKONTO_PUBLIC_URL``), without a trailing slash."""
    return str(getattr(settings, "NEMKONTO_PUBLIC_URL", DEFAULT_PUBLIC_URL)).rstrip("/")


def info_url() -> str:
    """The information page that the standard wording points to, in the default language."""
    with translation.override(settings.LANGUAGE_CODE):
        return public_url() + reverse("portal:about")


def activation_phone() -> str:
    """The phone-menu number printed in activation letters (``NEMKONTO_ACTIVATION_PHONE``)."""
    return str(getattr(settings, "NEMKONTO_ACTIVATION_PHONE", DEFAULT_PHONE))


def standard_wording() -> str:
    return str(STANDARD_WORDING) % {"url": info_url()}


def describe_author(channel: str, label: str, authority_name: str | None) -> str:
    """Who made a change, as the recipient reads it."""
    if channel == Channel.CITIZEN:
        return _("you, on the NemKonto portal")
    if channel == Channel.ACTIVATION:
        return _("you, with the activation code")
    if channel == Channel.BANK:
        return _("your bank (%(bank)s)") % {"bank": label}
    if channel == Channel.CASEWORKER:
        return authority_name or _("a public authority")
    if channel == Channel.OPERATOR:
        return _("the NemKonto service")
    return _("the NemKonto system, automatically")
