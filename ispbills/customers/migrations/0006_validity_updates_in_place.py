from django.db import migrations


class Migration(migrations.Migration):
    """A billing run extends the validity of every prepaid customer its advance pays for. With
    ``expires_at`` indexed, each of those updates wrote a new entry in every index of the
    table; without, it is a HOT update like the advance debit beside it. The index served no
    job: the suspension and reminder jobs read the expiries of every ISP in one scan."""

    dependencies = [
        ("customers", "0005_storage_for_updates"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="customer", name="customer_expiry"),
    ]
