from django.urls import path

from pharmacrm.samples import views

app_name = "samples"

urlpatterns = [
    path("", views.InventoryView.as_view(), name="inventory"),
    path("movements/", views.MovementListView.as_view(), name="movement_list"),
    path("lots/", views.LotListView.as_view(), name="lot_list"),
    path("lots/new/", views.lot_create, name="lot_create"),
    path("lots/<int:pk>/edit/", views.lot_edit, name="lot_edit"),
    path("transfers/", views.TransferListView.as_view(), name="transfer_list"),
    path("transfers/new/", views.transfer_create, name="transfer_create"),
    path("transfers/<int:pk>/", views.TransferDetailView.as_view(), name="transfer_detail"),
    path("transfers/<int:pk>/confirm/", views.transfer_confirm, name="transfer_confirm"),
    path("transfers/<int:pk>/cancel/", views.transfer_cancel, name="transfer_cancel"),
    path("receipts/new/", views.receipt_create, name="receipt_create"),
    path("returns/new/", views.return_create, name="return_create"),
    path("adjustments/new/", views.adjustment_create, name="adjustment_create"),
    path("disbursements/", views.DisbursementListView.as_view(), name="disbursement_list"),
    path("disbursements/new/", views.disbursement_create, name="disbursement_create"),
    path("disbursements/<int:pk>/", views.DisbursementDetailView.as_view(), name="disbursement_detail"),
    path("reconciliations/", views.ReconciliationListView.as_view(), name="reconciliation_list"),
    path("reconciliations/new/", views.reconciliation_create, name="reconciliation_create"),
    path("reconciliations/<int:pk>/", views.ReconciliationDetailView.as_view(), name="reconciliation_detail"),
    path("reconciliations/<int:pk>/recount/", views.reconciliation_recount, name="reconciliation_recount"),
    path("reconciliations/<int:pk>/approve/", views.reconciliation_approve, name="reconciliation_approve"),
    path("reconciliations/<int:pk>/send-back/", views.reconciliation_send_back, name="reconciliation_send_back"),
]
