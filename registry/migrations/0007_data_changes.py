# Every statement that changes an account version is recorded (accounts.DataChange).

from django.db import migrations

from accounts.data_changes import track_table, untrack_table

TRACKED = ["registry_nemkonto", "registry_specificaccount", "registry_recipient"]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_data_changes"),
        ("registry", "0006_notice_payment_kinds"),
    ]

    operations = [migrations.RunSQL(track_table(table), untrack_table(table)) for table in TRACKED]
