from django.contrib.auth.management import create_permissions
from django.db import migrations

# The definitions as they were when this migration was written (migrations must not change with
# later code); accounts.role_profiles holds the current ones.
PROFILES = [
    ("nks-opdater-nemkonto", "NKS-Opdater-NemKonto", ["update_nemkonto"]),
    ("nks-opdater-speckonto", "NKS-Opdater-SpecKonto", ["update_specific_accounts"]),
    ("nks-soeg-bet", "NKS-Søg-Bet", ["search_pending_payments"]),
    ("nks-soeg-gennemf-bet", "NKS-Søg-Gennemf-Bet", ["search_completed_payments"]),
    ("nks-stop-bet", "NKS-Stop-Bet", ["search_pending_payments", "stop_pending_payments"]),
    ("nks-ydelser", "NKS-Ydelser", ["maintain_benefits"]),
    ("nks-lokal-admin", "NKS-Lokal-Admin", ["local_administration"]),
]


def create_standard_profiles(apps, schema_editor):
    # The function permissions are normally created after migrate; the profiles need them now.
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, apps=apps, verbosity=0)
    accounts.models_module = None

    Permission = apps.get_model("auth", "Permission")
    RoleProfile = apps.get_model("accounts", "RoleProfile")
    for code, name, codenames in PROFILES:
        profile, _ = RoleProfile.objects.get_or_create(
            code=code, defaults={"name": name, "is_standard": True}
        )
        profile.functions.set(
            Permission.objects.filter(
                content_type__app_label="accounts",
                content_type__model="losunit",
                codename__in=codenames,
            )
        )


def remove_standard_profiles(apps, schema_editor):
    apps.get_model("accounts", "RoleProfile").objects.filter(is_standard=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_clients"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_standard_profiles, remove_standard_profiles)]
