"""The audit trail: every service writes one record in the transaction of the change it records."""

from typing import Any

from django.db import models

from accounts.models import AuditEvent, Authority, User

SYSTEM_LABEL = "system"


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    authority: Authority | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event (who, when, what, on which object); the table is append-only."""
    actor_is_user = actor is not None and actor.is_authenticated
    return AuditEvent.objects.create(
        actor=actor if actor_is_user else None,
        actor_label=actor.get_username() if actor is not None and actor_is_user else SYSTEM_LABEL,
        action=action,
        target_type=target._meta.label,
        target_id=str(target.pk),
        authority=authority,
        data=data or {},
    )
