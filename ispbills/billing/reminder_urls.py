from django.urls import path

from ispbills.billing import reminder_views

app_name = "reminders"

urlpatterns = [
    path("", reminder_views.ReminderListView.as_view(), name="reminder_list"),
]
