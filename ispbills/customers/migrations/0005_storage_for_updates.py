import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """A status change cannot be a HOT update (status is in customer_status and in the
    predicates of the unique MAC and address indexes), so a bulk suspension writes an entry
    in every index of the table: drop the one on tenant alone, which the indexes leading with
    the tenant already cover. Only the index goes; the foreign key stays as it is (no
    re-validation of the table)."""

    dependencies = [
        ("customers", "0004_room_for_balance_updates"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenancy.tenant",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS customers_customer_tenant_id_b3a9de9f",
                    'CREATE INDEX IF NOT EXISTS "customers_customer_tenant_id_b3a9de9f" '
                    'ON "customers_customer" ("tenant_id")',
                ),
            ],
        ),
    ]
