"""The webhook delivery worker: a thread that POSTs each webhook's new request events, one at a time and
in order, signed (signing.py); a failure is retried after `webhook_retry_base_s`, doubling up to 10 min,
and after `webhook_max_attempts` the event is skipped. Delivery is at least once: receivers dedupe by
the event `id`. Several processes may run a dispatcher; a lease keeps one webhook with one of them."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

import httpx

from eobatch.settings import Settings
from eobatch.store import events as store_events
from eobatch.store import webhooks as store_webhooks
from eobatch.store.db import Database
from eobatch.store.models import utcnow
from eobatch.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = logging.getLogger(__name__)
LEASE_S = 60.0
MAX_BACKOFF_S = 600.0


class WebhookDispatcher:
    def __init__(self, settings: Settings, database: Database):
        self.settings = settings
        self.database = database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
        self._gaps = store_events.GapTracker()

    def start(self) -> WebhookDispatcher:
        self._thread = threading.Thread(target=self._run, name="eobatch-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_s + 5)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # keep the worker alive; the failure is logged and retried next round
                log.exception("webhook delivery round failed")
            self._stop.wait(self.settings.events_poll_interval_s)

    def deliver_due(self) -> None:
        with self.database.session() as session:
            due = store_webhooks.claim_due(session, utcnow(), LEASE_S)
        for hook in due:
            try:
                self._deliver(hook)
            finally:
                with self.database.session() as session:
                    store_webhooks.release(session, hook.request_id)

    def _deliver(self, hook: store_webhooks.DueWebhook) -> None:
        with self.database.session() as session:
            until = store_events.complete_until(session, hook.delivered_event_id, self._gaps)
            pending = store_events.request_events(session, hook.request_id, hook.delivered_event_id, until=until)
            wire = [store_events.as_wire(e) for e in pending]
            if not wire and until > hook.delivered_event_id:  # nothing of this request up to `until`
                store_webhooks.delivered(session, hook.request_id, until)
        attempts = hook.attempts
        for event in wire:
            if self._stop.is_set():
                return
            error = self._post(hook, event)
            if error is None:
                attempts = 0
                with self.database.session() as session:
                    store_webhooks.delivered(session, hook.request_id, event["id"])
                continue
            attempts += 1
            if attempts >= self.settings.webhook_max_attempts:
                log.warning("webhook %s: event %s skipped: %s", hook.url, event["id"], error)
                with self.database.session() as session:
                    store_webhooks.delivered(session, hook.request_id, event["id"])
                    store_webhooks.failed(session, hook.request_id, 0, None, f"event {event['id']} skipped: {error}")
                attempts = 0
                continue
            delay = min(self.settings.webhook_retry_base_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
            with self.database.session() as session:
                store_webhooks.failed(session, hook.request_id, attempts, utcnow() + timedelta(seconds=delay), error)
            return

    def _post(self, hook: store_webhooks.DueWebhook, event: dict) -> str | None:
        body = json.dumps(event, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(hook.secret, timestamp, body),
            "X-Eobatch-Event-Id": str(event["id"]),
            "X-Eobatch-Event-Type": event["type"],
            "User-Agent": "eobatch-webhooks",
        }
        try:
            response = self._http.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
