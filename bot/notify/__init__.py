"""Pushes: rendering outbox notices and sending them to every member of a shop."""
