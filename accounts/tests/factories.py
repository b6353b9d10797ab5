"""factory-boy factories for organisations and users, shared by every app's tests."""

from collections.abc import Sequence

import factory
from django.db import connection
from stdnum.dk import cvr as stdnum_cvr

from accounts.grants import grant_permissions_sync
from accounts.models import Authority, Grant, LosUnit, RoleProfile, User


def valid_cvr(n: int) -> str:
    """The n-th valid CVR number of a test series: distinct for every n below 700,000.

    Six digits from n, then a seventh (weight 2) chosen so that a check digit exists: if 0 leaves
    none (the remainder would need a 10), 1 changes the remainder by 2 and always does.
    """
    prefix = f"{300000 + n:06d}"
    for seventh in "01":
        body = prefix + seventh
        for digit in "0123456789":
            if stdnum_cvr.is_valid(body + digit):
                return body + digit
    raise AssertionError("unreachable: one of two consecutive bodies has a check digit")


class AuthorityFactory(factory.django.DjangoModelFactory[Authority]):
    class Meta:
        model = Authority
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"myn{n}")
    name = factory.Sequence(lambda n: f"Testmyndighed {n}")
    kind = Authority.Kind.MUNICIPALITY
    cvr = factory.Sequence(valid_cvr)


class LosUnitFactory(factory.django.DjangoModelFactory[LosUnit]):
    class Meta:
        model = LosUnit
        skip_postgeneration_save = True

    authority = factory.LazyAttribute(
        lambda o: o.parent.authority if o.parent else AuthorityFactory()
    )
    parent = None
    code = factory.Sequence(lambda n: f"LOS{n}")
    name = factory.Sequence(lambda n: f"Enhed {n}")

    @factory.post_generation
    def set_path(unit: LosUnit, create: bool, extracted: object, **kwargs: object) -> None:
        unit.path = f"{unit.parent.path if unit.parent else '/'}{unit.pk}/"
        if create:
            LosUnit.objects.filter(pk=unit.pk).update(path=unit.path)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Bruger {n}")
    password = factory.django.Password("test-password-123")


class EmployeeFactory(UserFactory):
    kind = User.Kind.EMPLOYEE
    authority = factory.SubFactory(AuthorityFactory)


class CitizenFactory(UserFactory):
    kind = User.Kind.CITIZEN
    recipient_type = "CPR"
    recipient_id = factory.Sequence(lambda n: f"0101{80 + n % 20:02d}{1000 + n:04d}")


def grant(user: User, profile_code: str, unit: LosUnit) -> Grant:
    """Give ``user`` the standard role profile ``profile_code`` on ``unit`` (and its sub-units)."""
    created = Grant.objects.create(
        user=user, role_profile=RoleProfile.objects.get(code=profile_code), unit=unit
    )
    grant_permissions_sync(user_id=user.pk, unit_id=unit.pk)
    return created


def build_unit_tree(authority: Authority, level_sizes: Sequence[int]) -> list[LosUnit]:
    """A generated LOS tree with ``level_sizes[i]`` units at depth i (one root), set-based:
    one bulk insert per level (children dealt round-robin to the level above), then ONE
    UPDATE that sets every path with a recursive query."""
    assert level_sizes[0] == 1, "one root"
    level = LosUnit.objects.bulk_create([LosUnit(authority=authority, code="GEN", name="Rod")])
    units = list(level)
    for depth, size in enumerate(level_sizes[1:], start=1):
        level = LosUnit.objects.bulk_create(
            LosUnit(
                authority=authority,
                parent=level[index % len(level)],
                code=f"GEN-{depth}-{index}",
                name=f"Enhed {depth}.{index}",
            )
            for index in range(size)
        )
        units += level
    table = LosUnit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE tree(id, path) AS (
                SELECT id, '/' || id || '/' FROM {table} WHERE id = %(root)s
                UNION ALL
                SELECT unit.id, tree.path || unit.id || '/' FROM {table} unit
                JOIN tree ON unit.parent_id = tree.id
            )
            UPDATE {table} SET path = tree.path FROM tree WHERE {table}.id = tree.id
            """,  # noqa: S608 - table name from model metadata
            {"root": units[0].pk},
        )
    return list(
        LosUnit.objects.filter(authority=authority, code__startswith="GEN").order_by("path")
    )
