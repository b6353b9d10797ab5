"""Keeps guardian's permission rows in step with the grants (the rows the selectors read)."""

from django.db import connection

from accounts.models import Grant, LosUnitUserObjectPermission, RoleProfile


def grant_permissions_sync(*, user_id: int, unit_id: int) -> None:
    """Make the user's permission rows on the unit the union of the functions of their grants there.

    Two set-based statements: delete what no grant implies any more, insert what is missing.
    Called in the transaction of every grant and revoke.
    """
    table = LosUnitUserObjectPermission._meta.db_table
    grant_table = Grant._meta.db_table
    profile_functions = RoleProfile.functions.through._meta.db_table
    implied = f"""
        SELECT DISTINCT f.permission_id FROM {grant_table} g
        JOIN {profile_functions} f ON f.roleprofile_id = g.role_profile_id
        WHERE g.user_id = %(user)s AND g.unit_id = %(unit)s
    """  # noqa: S608 - table names from model metadata, values as parameters
    params = {"user": user_id, "unit": unit_id}
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE user_id = %(user)s AND content_object_id = %(unit)s"  # noqa: S608
            f" AND permission_id NOT IN ({implied})",
            params,
        )
        cursor.execute(
            f"INSERT INTO {table} (user_id, content_object_id, permission_id) "  # noqa: S608
            f"SELECT %(user)s, %(unit)s, permission_id FROM ({implied}) implied "
            "ON CONFLICT DO NOTHING",
            params,
        )


def role_profile_permissions_sync(*, role_profile_id: int) -> None:
    """After a profile's functions changed: resync every (user, unit) pair holding the profile.

    Two set-based statements over all the pairs at once, whatever their number.
    """
    table = LosUnitUserObjectPermission._meta.db_table
    grant_table = Grant._meta.db_table
    profile_functions = RoleProfile.functions.through._meta.db_table
    pairs = f"SELECT user_id, unit_id FROM {grant_table} WHERE role_profile_id = %(profile)s"  # noqa: S608
    implied = f"""
        SELECT DISTINCT g.user_id, g.unit_id, f.permission_id FROM {grant_table} g
        JOIN {profile_functions} f ON f.roleprofile_id = g.role_profile_id
        WHERE (g.user_id, g.unit_id) IN ({pairs})
    """  # noqa: S608 - table names from model metadata, values as parameters
    params = {"profile": role_profile_id}
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} p WHERE (p.user_id, p.content_object_id) IN ({pairs})"  # noqa: S608
            f" AND (p.user_id, p.content_object_id, p.permission_id) NOT IN ({implied})",
            params,
        )
        cursor.execute(
            f"INSERT INTO {table} (user_id, content_object_id, permission_id) "  # noqa: S608
            f"SELECT user_id, unit_id, permission_id FROM ({implied}) implied "
            "ON CONFLICT DO NOTHING",
            params,
        )
