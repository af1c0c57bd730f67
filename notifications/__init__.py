"""Telegram: the Bot API client, the morning summary delivery, operations alerts and the bot."""
