"""org's subscriptions to core.approvals (loaded from OrgConfig.ready())."""

from pharmacrm.core.approvals import register_handler
from pharmacrm.org import account_requests

register_handler(account_requests.ACCOUNT_REQUEST_KIND, on_approved=account_requests.on_approved,
                 on_rejected=account_requests.on_rejected)
