"""Webhook delivery: Slack-compatible ``{"text", "blocks"}`` messages over requests + urllib3
Retry (a timeout; retries on 429 and 5xx), grouped so that many incidents of one rule at once
make one summary message.

Nothing here raises on a failed delivery: the notice stays pending, is logged (without the
URL) and is posted again on the next evaluation.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from musiccharts_pipeline.alerts.rules import CHECK_FAILED, OVERDUE, QUOTA, RUN_FAILED, SLOW_SYNC
from musiccharts_pipeline.alerts.state import OPENED, IncidentStore, Notice
from musiccharts_pipeline.redact import install, register, scrub
from musiccharts_pipeline.sync.rules import utcnow

log = logging.getLogger(__name__)

PREFIX = "[musiccharts]"
#: More notices than this of one rule and kind in one evaluation make one summary message.
SUMMARY_OVER = 3
#: Lines listed in a summary; the rest are counted.
SUMMARY_LINES = 15
#: A receiver asking to wait longer than this (Retry-After) is not waited for in a sensor tick.
MAX_RETRY_AFTER = 10.0

TITLES = {
    RUN_FAILED: ("run failed", "runs failed"),
    OVERDUE: ("chart overdue", "charts overdue"),
    QUOTA: ("API quota", "API quota"),
    CHECK_FAILED: ("data check failed", "data checks failed"),
    SLOW_SYNC: ("slow sync", "slow syncs"),
}


@dataclasses.dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict]

    def payload(self) -> dict:
        # a last pass over everything that leaves: no secret, whatever a cause quoted
        return json.loads(scrub(json.dumps({"text": self.text, "blocks": self.blocks})))


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def compose(notices: list[Notice]) -> Message:
    """One message for notices of one rule and kind: the incident itself, or a summary."""
    kind, rule = notices[0].kind, notices[0].incident.rule
    state = "FIRING" if kind == OPENED else "RESOLVED"
    if len(notices) == 1:
        row = notices[0].incident
        line = row.cause if kind == OPENED else f"{row.cause} ({row.resolution or 'cleared'})"
        text = f"{PREFIX} {state} {TITLES[rule][0]}: {line}" + (f"\n{row.link}" if row.link else "")
        blocks = [_section(f"*{state} · {TITLES[rule][0]}*\n{line}")]
        if row.link:
            blocks.append(_section(f"<{row.link}|Open in Dagster>"))
        return Message(text, blocks)
    subjects = [n.incident.subject for n in notices]
    head = f"{len(notices)} {TITLES[rule][1]}"
    listed = ", ".join(subjects[:SUMMARY_LINES])
    more = len(subjects) - SUMMARY_LINES
    listed += f" and {more} more" if more > 0 else ""
    link = notices[0].incident.link
    text = f"{PREFIX} {state} {head}: {listed}" + (f"\n{link}" if link else "")
    lines = "\n".join(f"• {n.incident.cause}" for n in notices[:SUMMARY_LINES])
    if more > 0:
        lines += f"\n… and {more} more"
    blocks = [_section(f"*{state} · {head}*"), _section(lines)]
    if link:
        blocks.append(_section(f"<{link}|Open in Dagster>"))
    return Message(text, blocks)


def probe_message() -> Message:
    text = f"{PREFIX} test alert: the webhook is configured and reachable"
    return Message(text, [_section(f"*{PREFIX} test alert*\nThe webhook is configured.")])


class WebhookRetry(Retry):
    """urllib3 Retry whose Retry-After waits are capped, so a sensor tick stays short."""

    def get_retry_after(self, response):
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, MAX_RETRY_AFTER)


@dataclasses.dataclass(frozen=True)
class Delivery:
    ok: bool
    status: int | None
    error: str | None  # never the URL

    def describe(self) -> str:
        if self.ok:
            return f"sent (HTTP {self.status})"
        return f"not sent ({self.error})"


class Webhook:
    """Posts messages to one incoming webhook."""

    def __init__(
        self,
        url: str,
        timeout: tuple[float, float] = (5.0, 10.0),  # connect, read
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self._url = url
        self.timeout = timeout
        retry = WebhookRetry(
            total=retries,
            connect=retries,
            read=0,  # the receiver may have the message already: never post it twice
            status=retries,
            backoff_factor=backoff,
            backoff_max=MAX_RETRY_AFTER,
            status_forcelist=(429, *range(500, 600)),
            allowed_methods=frozenset({"POST"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        # urllib3 logs the URL path it retries: for a Slack webhook, the path is the secret
        register(urlsplit(url).path if urlsplit(url).path.strip("/") else None)
        install()
        self._session = requests.Session()
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._session.mount("https://", HTTPAdapter(max_retries=retry))

    def __repr__(self) -> str:
        return "Webhook(<url hidden>)"

    def post(self, message: Message) -> Delivery:
        try:
            response = self._session.post(self._url, json=message.payload(), timeout=self.timeout)
        except requests.RequestException as exc:
            # the exception's text carries the URL: keep only its kind
            return Delivery(False, None, f"{type(exc).__name__} after retries")
        if 200 <= response.status_code < 300:
            return Delivery(True, response.status_code, None)
        return Delivery(False, response.status_code, f"HTTP {response.status_code}")

    def close(self) -> None:
        self._session.close()


@dataclasses.dataclass(frozen=True)
class Outcome:
    notice: Notice
    delivery: Delivery


def deliver_pending(
    store: IncidentStore,
    webhook: Webhook | None,
    warn: Callable[[str], None] = log.warning,
) -> list[Outcome]:
    """Post every pending notice: one message per notice, or one summary per rule and kind
    when more than ``SUMMARY_OVER`` are due together."""
    pending = store.pending()
    if webhook is None:
        unsent = Delivery(False, None, "no webhook configured")
        return [Outcome(n, unsent) for n in pending]
    groups: dict[tuple[str, str], list[Notice]] = {}
    for notice in pending:
        groups.setdefault((notice.kind, notice.incident.rule), []).append(notice)
    outcomes, down = [], None
    for (kind, rule), notices in sorted(groups.items(), key=lambda kv: kv[0][0] != OPENED):
        batches = [notices] if len(notices) > SUMMARY_OVER else [[n] for n in notices]
        for batch in batches:
            if down is not None:  # one failed post per evaluation bounds a tick's time
                outcomes += [Outcome(n, down) for n in batch]
                continue
            claimed = store.claim(batch, utcnow())
            if not claimed:
                continue
            delivery = webhook.post(compose(claimed))
            store.settle(claimed, delivery.error)
            if not delivery.ok:
                warn(
                    f"alert webhook: {kind} {rule} notice for {len(claimed)} incident(s) "
                    f"{delivery.describe()}; retried on the next evaluation"
                )
                down = Delivery(
                    False, None, f"not tried: an earlier post failed ({delivery.error})"
                )
            outcomes += [Outcome(n, delivery) for n in claimed]
    return outcomes
