"""Login throttling (issue 8): password log-ins (the operators' admin) are locked after five
failures for a username from one address, and a locked log-in is refused even with the right
password; an operator can lift it in the admin (django-axes)."""

import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-operator-password"


@pytest.fixture
def operator_with_password(operator: User) -> User:
    operator.set_password(PASSWORD)
    operator.save(update_fields=["password"])
    return operator


def log_in(client, username: str, password: str):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )


def test_five_failures_lock_the_username_even_for_the_right_password(
    client, operator_with_password
):
    username = operator_with_password.username
    for _ in range(4):
        assert log_in(client, username, "wrong").status_code == 200  # the form again, with error
    assert log_in(client, username, "wrong").status_code == 429  # the fifth failure locks
    locked = log_in(client, username, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another operator's log-in from the same address is not affected.
    other = User.objects.create_user("other-op", password=PASSWORD, is_staff=True)
    assert log_in(client, other.username, PASSWORD).status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, operator_with_password):
    username = operator_with_password.username
    for _ in range(4):
        log_in(client, username, "wrong")
    assert log_in(client, username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, username, "wrong")
    assert log_in(client, username, PASSWORD).status_code == 302
