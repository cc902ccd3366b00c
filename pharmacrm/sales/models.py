"""The drug catalogue. Orders, samples and distributor flow data refer to these products.

Money is whole fen (``core.money``). A product names the licence category a buyer needs
(``customers.choices.ProductCategory``); an order for it is confirmed only when
``qualification.is_qualified_for`` says the buyer holds it (GSP 第九十条).
"""

from __future__ import annotations

from typing import Any, Self

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel
from pharmacrm.core.money import fen_to_yuan
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.customers.choices import ProductCategory
from pharmacrm.sales.choices import DosageForm, PrescriptionClass, ProductStatus, ReimbursementClass, TherapeuticArea


class ProductQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """The catalogue is the company's own and not territorial: everyone who may view products sees it all."""
        if not getattr(user, "is_authenticated", False) or not user.has_perm("sales.view_product"):
            return self.none()
        return self

    def on_sale(self) -> Self:
        return self.filter(status=ProductStatus.ACTIVE)


class Product(BaseModel):
    code = models.CharField(_("product code"), max_length=30, unique=True,
                            help_text=_("The company's own code (SKU), as on its price list."))
    generic_name = models.CharField(_("generic name"), max_length=100, db_index=True)
    brand_name = models.CharField(_("brand name"), max_length=100, blank=True)
    dosage_form = models.CharField(_("dosage form"), max_length=20, choices=DosageForm.choices)
    strength = models.CharField(_("strength"), max_length=50, help_text=_("e.g. 10mg"))
    pack = models.CharField(_("pack"), max_length=50, help_text=_("e.g. 10 tablets × 3 blisters / box"))
    approval_number = models.CharField(_("NMPA approval number"), max_length=20,
                                       help_text=_("国药准字 + H/Z/S/J + 8 digits"))
    marketing_authorisation_holder = models.CharField(_("marketing authorisation holder"), max_length=100)
    therapeutic_area = models.CharField(_("therapeutic area"), max_length=20, choices=TherapeuticArea.choices)
    prescription_class = models.CharField(_("prescription class"), max_length=8, choices=PrescriptionClass.choices,
                                          default=PrescriptionClass.RX)
    reimbursement_class = models.CharField(_("reimbursement class"), max_length=8,
                                           choices=ReimbursementClass.choices, default=ReimbursementClass.NONE)
    volume_based_procurement = models.BooleanField(_("volume-based procurement (集采)"), default=False)
    procurement_price_fen = models.BigIntegerField(_("procurement price"), null=True, blank=True,
                                                   help_text=_("The bid price won in volume-based procurement."))
    list_price_fen = models.BigIntegerField(_("list price"))
    category = models.CharField(_("licence category needed"), max_length=32, choices=ProductCategory.choices,
                                help_text=_("A buyer's licence must cover this category (GSP 第九十条)."))
    status = models.CharField(_("status"), max_length=16, choices=ProductStatus.choices,
                              default=ProductStatus.ACTIVE)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["generic_name", "strength", "id"]
        constraints = [
            # one approval number covers one drug and strength; its packs are separate products
            models.UniqueConstraint(fields=["approval_number", "pack"], name="product_approval_pack_unique",
                                    violation_error_message=_("A product with this approval number and pack "
                                                              "already exists.")),
            models.CheckConstraint(condition=models.Q(list_price_fen__gte=0), name="product_list_price_positive"),
        ]

    def __str__(self) -> str:
        brand = f"（{self.brand_name}）" if self.brand_name else ""
        return f"{self.generic_name}{brand} {self.strength} {self.pack}"

    def get_absolute_url(self) -> str:
        return reverse("sales:product_detail", args=[self.pk])

    @property
    def list_price(self) -> Any:
        return fen_to_yuan(self.list_price_fen)

    @property
    def procurement_price(self) -> Any:
        return fen_to_yuan(self.procurement_price_fen)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.volume_based_procurement and self.procurement_price_fen is None:
            errors["procurement_price_fen"] = [_("Enter the procurement price of a volume-based procurement product.")]
        if not self.volume_based_procurement and self.procurement_price_fen is not None:
            errors["procurement_price_fen"] = [_("Only volume-based procurement products have a procurement price.")]
        if self.procurement_price_fen is not None and self.procurement_price_fen < 0:
            errors["procurement_price_fen"] = [_("A price cannot be negative.")]
        if self.list_price_fen is not None and self.list_price_fen < 0:
            errors["list_price_fen"] = [_("A price cannot be negative.")]
        if errors:
            raise ValidationError(errors)
