"""The notice outbox: every change writes notices in its own transaction; a Celery task sends
them after the commit (ARCHITECTURE.md section 2), with Django's e-mail backend for now."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from registry.models import Notice, Recipient, StoredAccount
from registry.services.common import Who
from registry.wording import describe_author, standard_wording

PLACEHOLDER_EMAIL = "notices@nemkonto.invalid"


@dataclass(frozen=True)
class NoticeText:
    kind: Notice.Kind
    subject: str
    paragraphs: list[str]


def _primary_channel(recipient: Recipient) -> tuple[Notice.Channel, str]:
    """E-mail to the recipient's portal login when it has an address, else Digital Post."""
    email = (
        User.objects.filter(
            recipient_type=recipient.id_type,
            recipient_id=recipient.id_number,
            is_active=True,
        )
        .exclude(email="")
        .values_list("email", flat=True)
        .first()
    )
    if email:
        return Notice.Channel.EMAIL, email
    return Notice.Channel.DIGITAL_POST, f"{recipient.id_type} {recipient.name}"[:254]


def _old_account_address(old: StoredAccount) -> str:
    return f"reg.nr. {old.reg}" if old.reg else f"BIC {old.bic}"


def _body(recipient: Recipient, paragraphs: Iterable[str]) -> str:
    greeting = _("Dear %(name)s,") % {"name": recipient.name}
    closing = [
        _(
            "If you did not ask for this change, contact the NemKonto service at once: the "
            "change can be stopped or undone."
        ),
        standard_wording(),
    ]
    return "\n\n".join([greeting, *paragraphs, *closing])


def _schedule(notices: list[Notice]) -> None:
    if not notices:
        return
    ids = [notice.pk for notice in notices]

    def send() -> None:
        from registry.tasks import notices_send

        notices_send.delay(ids)

    transaction.on_commit(send)


def notices_queue(
    *,
    recipient: Recipient,
    text: NoticeText,
    old_account: StoredAccount | None = None,
    who: Who | None = None,
) -> list[Notice]:
    """Write the notice to the recipient and, when an account stopped being used, the notice
    about the old account "on the old channel"; both are sent after the commit."""
    with translation.override(settings.LANGUAGE_CODE):
        channel, address = _primary_channel(recipient)
        notices = [
            Notice(
                recipient=recipient,
                kind=text.kind,
                channel=channel,
                to_address=address,
                subject=text.subject[:200],
                body=_body(recipient, text.paragraphs),
            )
        ]
        if old_account is not None:
            author = describe_author(who.channel, who.label, _authority_name(who)) if who else ""
            notices.append(
                Notice(
                    recipient=recipient,
                    kind=Notice.Kind.OLD_ACCOUNT,
                    channel=Notice.Channel.OLD_ACCOUNT,
                    to_address=_old_account_address(old_account),
                    subject=_("Your account %(account)s is no longer used for public payments")
                    % {"account": old_account.masked},
                    body=_body(
                        recipient,
                        [
                            _(
                                "Public payments to you will no longer go to the account "
                                "%(account)s. The change was made by %(author)s."
                            )
                            % {"account": old_account.masked, "author": author},
                        ],
                    ),
                )
            )
    created = Notice.objects.bulk_create(notices)
    _schedule(created)
    return created


def _authority_name(who: Who) -> str | None:
    return who.authority.name if who.authority is not None else None


def notice_texts_author(who: Who) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return describe_author(who.channel, who.label, _authority_name(who))


def notices_deliver(*, notice_ids: list[int] | None = None, limit: int = 500) -> int:
    """Send unsent notices (the given ones, or the oldest ``limit``); returns how many went out.

    Each notice is locked while it is sent (SKIP LOCKED), so two workers never send one twice.
    Placeholder channels (Digital Post, old account's bank) go to ``NEMKONTO_NOTICE_EMAIL``.
    """
    placeholder = str(getattr(settings, "NEMKONTO_NOTICE_EMAIL", PLACEHOLDER_EMAIL))
    sent = 0
    unsent = Notice.objects.filter(sent_at__isnull=True)
    if notice_ids is not None:
        unsent = unsent.filter(pk__in=notice_ids)
    for pk in list(unsent.order_by("created_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            notice = (
                Notice.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, sent_at__isnull=True)
                .first()
            )
            if notice is None:
                continue
            to = notice.to_address if notice.channel == Notice.Channel.EMAIL else placeholder
            message = EmailMessage(
                subject=notice.subject,
                body=notice.body,
                to=[to],
                headers={
                    "X-NemKonto-Notice": str(notice.pk),
                    "X-NemKonto-Channel": notice.channel,
                    "X-NemKonto-To": notice.to_address,
                },
            )
            notice.attempts += 1
            try:
                message.send()
            except Exception as error:  # noqa: BLE001 - any transport error is retried later
                notice.last_error = str(error)[:500]
                notice.save(update_fields=["attempts", "last_error"])
                continue
            notice.sent_at = timezone.now()
            notice.last_error = ""
            notice.save(update_fields=["attempts", "last_error", "sent_at"])
            sent += 1
    return sent
