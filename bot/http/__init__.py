"""The HTTP service: signed platform events in, shop status out, metrics, Telegram webhook."""
