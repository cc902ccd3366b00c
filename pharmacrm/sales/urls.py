from django.urls import path

from pharmacrm.sales import order_views, purchase_views, views

app_name = "sales"

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("orders/", views.OrderListView.as_view(), name="order_list"),
    path("orders/new/", order_views.order_create, name="order_create"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/lines/", order_views.order_edit_lines, name="order_edit_lines"),
    path("orders/<int:pk>/submit/", order_views.order_submit, name="order_submit"),
    path("orders/<int:pk>/confirm/", order_views.order_confirm, name="order_confirm"),
    path("orders/<int:pk>/send-back/", order_views.order_send_back, name="order_send_back"),
    path("orders/<int:pk>/cancel/", order_views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/ship/", order_views.order_ship, name="order_ship"),
    path("orders/<int:pk>/invoice/", order_views.order_invoice, name="order_invoice"),
    path("orders/<int:pk>/complete/", order_views.order_complete, name="order_complete"),
    path("shipments/<int:pk>/receipt/", order_views.shipment_receipt, name="shipment_receipt"),
    path("credit-limits/<int:pk>/", order_views.credit_limit, name="credit_limit"),
    path("institutions/<int:pk>/purchases/", purchase_views.institution_purchases, name="institution_purchases"),
    path("flow-mappings/", purchase_views.FlowMappingListView.as_view(), name="flow_mappings"),
    path("flow-mappings/<int:pk>/", purchase_views.flow_mapping, name="flow_mapping"),
]
