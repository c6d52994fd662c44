"""Per-request webhooks (an eobatch extension, docs/events.md): the create-body field, HMAC signing,
and the delivery worker that POSTs each request event in order, with retries."""

from eobatch.webhooks.delivery import WebhookDispatcher
from eobatch.webhooks.signing import sign, verify
from eobatch.webhooks.spec import WebhookSpec, split_webhook

__all__ = ["WebhookDispatcher", "WebhookSpec", "sign", "split_webhook", "verify"]
