"""The data-change record (issue 8, audit trail; accounts/data_changes.py): every statement that
changes a tracked table leaves one row naming the user and channel or the task behind it, bulk
statements included, and the database refuses to change or delete those rows."""

from types import SimpleNamespace

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.urls import reverse

from accounts.data_changes import task_finished, task_started
from accounts.models import DataChange
from registry.models import NemKonto
from registry.services import nemkonto_set
from registry.tests.conftest import DANISH

pytestmark = pytest.mark.django_db

DATABASE_REFUSES = (InternalError, IntegrityError, ProgrammingError)


def last_id() -> int:
    return DataChange.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_citizens_change_is_recorded_with_the_user_and_channel(login, citizen_in_register):
    api = login(citizen_in_register)
    before = last_id()
    answer = api.put(reverse("registry-me-nemkonto"), {"account": DANISH}, format="json")
    assert answer.status_code == 200, answer.content
    rows = DataChange.objects.filter(pk__gt=before).order_by("id")
    inserted = [r for r in rows if r.table_name == "registry_nemkonto" and r.operation == "INSERT"]
    assert inserted, [(r.table_name, r.operation) for r in rows]
    assert (inserted[0].actor_label, inserted[0].channel) == (citizen_in_register.username, "api")
    assert inserted[0].source == "PUT /api/v1/me/nemkonto"


def test_a_task_and_a_bulk_statement_are_recorded_once(citizen_in_register):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    before = last_id()
    # The Celery signal handlers a worker runs around every task.
    task_started(task_id="t-1", task=SimpleNamespace(name="demo.bulk"))
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE registry_nemkonto SET state = state")
    finally:
        task_finished(task_id="t-1")
    rows = list(DataChange.objects.filter(pk__gt=before).order_by("id"))
    assert [(r.table_name, r.operation, r.channel, r.source, r.source_id) for r in rows] == [
        ("registry_nemkonto", "UPDATE", "task", "demo.bulk", "t-1")
    ]


def test_without_a_context_the_database_role_is_recorded(citizen_in_register):
    before = last_id()
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    row = DataChange.objects.filter(pk__gt=before, table_name="registry_nemkonto").first()
    assert row is not None
    assert row.channel == "database"
    assert row.actor_label == connection.settings_dict["USER"]
    assert NemKonto.objects.count() == 1


@pytest.mark.parametrize(
    "statement", ["UPDATE accounts_datachange SET channel = 'x'", "DELETE FROM accounts_datachange"]
)
def test_the_record_cannot_be_changed_or_deleted(citizen_in_register, statement):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    with pytest.raises(DATABASE_REFUSES), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert DataChange.objects.exists()
