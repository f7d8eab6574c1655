import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (field, the index Django made for its foreign key)
DROPPED = [
    ("tenant", "customers_customer_tenant_id_b3a9de9f"),
    ("manager", "customers_customer_manager_id_3de7daeb"),
    ("parent", "customers_customer_parent_id_7e55028b"),
]


class Migration(migrations.Migration):
    """A status change cannot be a HOT update (status is in customer_status and in the
    predicates of the unique MAC and address indexes), so a bulk suspension writes an entry
    in every index of the table. Fewer entries: no index on the tenant alone (the indexes
    leading with the tenant cover it), and the parent and manager indexed only where set
    (most customers have neither). Only indexes change; the foreign keys stay as they are
    (no re-validation of the table)."""

    dependencies = [
        ("customers", "0004_room_for_balance_updates"),
        ("tenancy", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
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
                migrations.AlterField(
                    model_name="customer",
                    name="manager",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_customers",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="assigned manager",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="parent",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="children",
                        to="customers.customer",
                        verbose_name="parent account",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {index}",
                    f'CREATE INDEX IF NOT EXISTS "{index}" ON "customers_customer" ("{field}_id")',
                )
                for field, index in DROPPED
            ],
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("parent__isnull", False)),
                fields=["parent"],
                name="customer_has_parent",
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("manager__isnull", False)),
                fields=["manager"],
                name="customer_has_manager",
            ),
        ),
    ]
