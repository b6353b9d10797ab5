"""Leave half of each page of the payments table free.

Every stage rewrites a payment (attach, claim, the bank's status, its booking). With full pages
each new version lands on another page, and the bank's booking (``booked_at``, in no index) cannot
be a HOT update. With room on the page the new version stays beside the old one: the pain.002
UPDATE of 1,000,000 payments measured 46 s on packed pages and 31 s with fillfactor 50
(docs/benchmarks.md, "Where the time goes"). Applies to pages written from now on.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0006_test_mode_go_live")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE payments_payment SET (fillfactor = 50)",
            reverse_sql="ALTER TABLE payments_payment RESET (fillfactor)",
        )
    ]
