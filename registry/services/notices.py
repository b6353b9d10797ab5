"""The notice outbox: every change writes notices in its own transaction; a Celery task sends
them after the commit (ARCHITECTURE.md section 2), with Django's e-mail backend for now."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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


def _body(recipient: Recipient, paragraphs: Iterable[str], *, about_a_change: bool = True) -> str:
    greeting = _("Dear %(name)s,") % {"name": recipient.name}
    closing = [standard_wording()]
    if about_a_change:
        closing.insert(
            0,
            _(
                "If you did not ask for this change, contact the NemKonto service at once: the "
                "change can be stopped or undone."
            ),
        )
    return "\n\n".join([greeting, *paragraphs, *closing])


def _schedule(notices: list[Notice]) -> None:
    if notices:
        _schedule_ids([notice.pk for notice in notices])


def _schedule_ids(ids: list[int]) -> None:
    """Send the notices after the commit, in tasks of at most 500."""

    def send() -> None:
        from registry.tasks import notices_send

        for start in range(0, len(ids), 500):
            notices_send.delay(ids[start : start + 500])

    transaction.on_commit(send)


def notices_queue(
    *,
    recipient: Recipient,
    text: NoticeText,
    old_account: StoredAccount | None = None,
    who: Who | None = None,
    old_account_text: NoticeText | None = None,
) -> list[Notice]:
    """Write the notice to the recipient and, when an account stopped being used, the notice
    about the old account "on the old channel"; both are sent after the commit.

    ``old_account_text`` replaces the old-account notice's usual words ("no longer used")."""
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
            old_text = old_account_text or NoticeText(
                Notice.Kind.OLD_ACCOUNT,
                _("Your account %(account)s is no longer used for public payments")
                % {"account": old_account.masked},
                [
                    _(
                        "Public payments to you will no longer go to the account "
                        "%(account)s. The change was made by %(author)s."
                    )
                    % {"account": old_account.masked, "author": author},
                ],
            )
            notices.append(
                Notice(
                    recipient=recipient,
                    kind=old_text.kind,
                    channel=Notice.Channel.OLD_ACCOUNT,
                    to_address=_old_account_address(old_account),
                    subject=old_text.subject[:200],
                    body=_body(recipient, old_text.paragraphs),
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


# --- Many notices at once (set-based) -------------------------------------------------------------

_NOTICE = Notice._meta.db_table
_RECIPIENT = Recipient._meta.db_table
_USER = User._meta.db_table
_NAME = "{name}"


def notices_queue_select(
    *,
    cursor: Any,
    kind: Notice.Kind,
    rows_sql: str,
    params: dict[str, Any],
    subject: str,
    paragraph: str,
    columns: Iterable[str] = (),
) -> list[int]:
    """Write one notice per row of ``rows_sql`` in one ``INSERT ... SELECT`` and send them after
    the commit; returns their ids.

    ``rows_sql`` is a SELECT with a ``recipient_id`` column and the text ``columns`` whose
    ``{column}`` placeholders ``paragraph`` contains (``subject`` and ``paragraph`` already in the
    notice's language). For notices that report rather than confirm a change of the recipient's
    accounts (payments): channel as ``notices_queue`` (e-mail to the recipient's portal login when
    it has an address, else Digital Post), greeting and standard wording.
    """
    with translation.override(settings.LANGUAGE_CODE):
        template = _body(Recipient(name=_NAME), [paragraph], about_a_change=False)
    body = "%(notice_body)s"
    for column in columns:
        body = f"replace({body}, '{{{column}}}', rows.{column}::text)"
    with_name = f"replace({body}, '{_NAME}', r.name)"
    cursor.execute(
        f"""
        WITH rows AS ({rows_sql})
        INSERT INTO {_NOTICE} (recipient_id, kind, channel, to_address, subject, body,
                               created_at, sent_at, attempts, last_error)
        SELECT r.id, %(notice_kind)s,
               CASE WHEN u.email IS NULL THEN %(notice_digital_post)s ELSE %(notice_email)s END,
               coalesce(u.email, left(r.id_type || ' ' || r.name, 254)),
               left(%(notice_subject)s, 200), {with_name}, %(notice_now)s, NULL, 0, ''
        FROM rows
        JOIN {_RECIPIENT} r ON r.id = rows.recipient_id
        LEFT JOIN LATERAL (
            SELECT email FROM {_USER}
            WHERE recipient_type = r.id_type AND recipient_id = r.id_number AND is_active
              AND email <> ''
            ORDER BY id LIMIT 1
        ) u ON true
        RETURNING id
        """,  # noqa: S608 - table and column names from model metadata and the caller
        {
            **params,
            "notice_kind": str(kind),
            "notice_digital_post": str(Notice.Channel.DIGITAL_POST),
            "notice_email": str(Notice.Channel.EMAIL),
            "notice_subject": subject,
            "notice_body": template,
            "notice_now": timezone.now(),
        },
    )
    ids = [row[0] for row in cursor.fetchall()]
    if ids:
        _schedule_ids(ids)
    return ids
