"""factory-boy factories for organisations and users, shared by every app's tests."""

import factory
from stdnum.dk import cvr as stdnum_cvr

from accounts.grants import grant_permissions_sync
from accounts.models import Authority, Grant, LosUnit, RoleProfile, User


def valid_cvr(n: int) -> str:
    """The n-th valid CVR number of a test series (7 digits + the modulus-11 check digit)."""
    while True:
        body = f"{30000000 + n * 10:08d}"[:7]
        for digit in "0123456789":
            if stdnum_cvr.is_valid(body + digit):
                return body + digit
        n += 1


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
