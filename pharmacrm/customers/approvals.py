"""customers' subscriptions to core.approvals (loaded from CustomersConfig.ready())."""

from pharmacrm.core.approvals import register_handler
from pharmacrm.customers import stewardship

register_handler(stewardship.NEW_INSTITUTION_KIND, on_approved=stewardship.on_new_institution_approved,
                 on_rejected=stewardship.on_new_institution_rejected)
