"""Every periodic job of the platform, declared in one place (cron lines in UTC).

Each entry only defers an app's ``*_task``; the work lives in that app's services.
"""

from procrastinate.contrib.django import app

from ispbills.accounting.tasks import post_ledger_task, suspend_unsettled_task
from ispbills.billing.tasks import (
    compute_reminders_task,
    run_due_billing_task,
    suspend_overdue_task,
)
from ispbills.cards.tasks import (
    check_duplicate_pins_task,
    expire_cards_task,
    post_commissions_task,
)
from ispbills.core.tasks import fail_stale_job_runs_task
from ispbills.customers.tasks import (
    apply_fair_usage_task,
    expire_trials_task,
    purge_import_uploads_task,
)
from ispbills.payments.tasks import reconcile_payment_attempts_task
from ispbills.radius.tasks import process_due_disconnects_task, settle_accounting_task
from ispbills.reports.tasks import refresh_bills_vs_payments_task
from ispbills.tenancy.tasks import purge_login_attempts_task

app.periodic(cron="17 3 * * *", periodic_id="purge_login_attempts")(purge_login_attempts_task)
app.periodic(cron="*/10 * * * *", periodic_id="fail_stale_job_runs")(fail_stale_job_runs_task)
app.periodic(cron="*/5 * * * *", periodic_id="expire_trials")(expire_trials_task)
app.periodic(cron="43 * * * *", periodic_id="purge_import_uploads")(purge_import_uploads_task)
app.periodic(cron="*/5 * * * *", periodic_id="settle_accounting")(settle_accounting_task)
app.periodic(cron="2-59/15 * * * *", periodic_id="apply_fair_usage")(apply_fair_usage_task)
app.periodic(cron="* * * * *", periodic_id="process_due_disconnects")(process_due_disconnects_task)
app.periodic(cron="3 * * * *", periodic_id="run_due_billing")(run_due_billing_task)
app.periodic(cron="1-59/5 * * * *", periodic_id="suspend_overdue")(suspend_overdue_task)
app.periodic(cron="7 * * * *", periodic_id="compute_reminders")(compute_reminders_task)
app.periodic(cron="11 * * * *", periodic_id="refresh_bills_vs_payments")(
    refresh_bills_vs_payments_task
)
app.periodic(cron="* * * * *", periodic_id="post_ledger")(post_ledger_task)
app.periodic(cron="35 0 * * *", periodic_id="suspend_unsettled")(suspend_unsettled_task)
app.periodic(cron="*/30 * * * *", periodic_id="reconcile_payment_attempts")(
    reconcile_payment_attempts_task
)
app.periodic(cron="* * * * *", periodic_id="post_card_commissions")(post_commissions_task)
app.periodic(cron="*/10 * * * *", periodic_id="expire_cards")(expire_cards_task)
app.periodic(cron="23 2 * * *", periodic_id="check_duplicate_pins")(check_duplicate_pins_task)
