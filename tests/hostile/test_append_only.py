"""The audit and look-up logs are append-only at the database (issue 8, acceptance 2): UPDATE
and DELETE fail there, whoever sends them, also as raw SQL that bypasses Django."""

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from accounts.audit import audit_record
from registry.models import LookupLog
from tests.hostile.conftest import Hostile

DATABASE_REFUSES = (InternalError, IntegrityError, ProgrammingError)


@pytest.mark.parametrize("table", ["accounts_auditevent", "registry_lookuplog"])
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET id = id", "DELETE FROM {table}"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_log_rows(
    hostile: Hostile, table: str, statement: str
) -> None:
    world = hostile.world
    audit_record(actor=None, action="hostile.probe", target=world.authority)
    response = hostile.http.get(
        "/api/v1/recipients/CPR/0101901234/account?purpose=sag",
        headers=hostile.bearer("resolve"),
    )
    assert response.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed table name
        (before,) = cursor.fetchone()
    assert before > 0

    with pytest.raises(DATABASE_REFUSES), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table))

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed table name
        assert cursor.fetchone() == (before,)
    assert LookupLog.objects.filter(purpose="sag").exists()
