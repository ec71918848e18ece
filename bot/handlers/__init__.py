"""Telegram handlers, one module per command group; each has ``register(app)``."""
