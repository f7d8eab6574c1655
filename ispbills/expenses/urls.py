from django.urls import path

from ispbills.expenses import views

app_name = "expenses"

urlpatterns = [
    path("expenses/", views.ExpenseListView.as_view(), name="expense_list"),
    path("expenses/add/", views.ExpenseCreateView.as_view(), name="expense_add"),
    path("expenses/<int:pk>/", views.ExpenseDetailView.as_view(), name="expense_detail"),
    path("expenses/<int:pk>/edit/", views.ExpenseEditView.as_view(), name="expense_edit"),
    path("expenses/<int:pk>/void/", views.ExpenseVoidView.as_view(), name="expense_void"),
    path(
        "expenses/attachments/<int:pk>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment_download",
    ),
    path(
        "expenses/categories/", views.ExpenseCategoryListView.as_view(), name="expensecategory_list"
    ),
    path(
        "expenses/categories/add/",
        views.ExpenseCategoryCreateView.as_view(),
        name="expensecategory_add",
    ),
    path(
        "expenses/categories/<int:pk>/",
        views.ExpenseCategoryDetailView.as_view(),
        name="expensecategory_detail",
    ),
    path(
        "expenses/categories/<int:pk>/edit/",
        views.ExpenseCategoryEditView.as_view(),
        name="expensecategory_edit",
    ),
    path(
        "expenses/categories/<int:pk>/toggle/",
        views.ExpenseCategoryToggleView.as_view(),
        name="expensecategory_toggle",
    ),
]
