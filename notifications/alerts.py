"""Alerts to the operations chat (TELEGRAM_OPS_CHAT_ID): failed pipeline runs, failed deliveries.

An alert must never take down what raised it, so every failure here is logged and reported
as `False` instead of raised.
"""

from __future__ import annotations

import logging

from notifications.telegram import TelegramClient, TelegramError
from pantao.settings import Settings

log = logging.getLogger(__name__)

ALERT_PREFIX = "⚠️ pantao: "


def send_ops_alert(settings: Settings, text: str) -> bool:
    """Send `text` as plain text (no markup to break) to the ops chat; True when Telegram accepted it."""
    if not settings.telegram_bot_token or not settings.telegram_ops_chat_id:
        missing = "TELEGRAM_BOT_TOKEN" if not settings.telegram_bot_token else "TELEGRAM_OPS_CHAT_ID"
        log.warning("ops alert not sent (%s is not set): %s", missing, text)
        return False
    try:
        with TelegramClient.from_settings(settings, max_attempts=3) as client:
            client.send_message(settings.telegram_ops_chat_id, ALERT_PREFIX + text, parse_mode=None)
    except TelegramError as exc:
        log.error("ops alert to chat %s failed: %s; the alert was: %s", settings.telegram_ops_chat_id, exc, text)
        return False
    log.info("ops alert sent to chat %s", settings.telegram_ops_chat_id)
    return True
