from django.db import migrations


class Migration(migrations.Migration):
    """Billing runs update many customers' advance balances at once: room left on each page
    keeps those updates HOT (no index touched, the trigram ones included)."""

    dependencies = [("customers", "0003_radius_views")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE customers_customer SET (fillfactor = 90)",
            "ALTER TABLE customers_customer RESET (fillfactor)",
        )
    ]
