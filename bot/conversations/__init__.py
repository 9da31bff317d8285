"""Multi-step seller flows: one module per conversation."""
