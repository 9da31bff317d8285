"""Several instances on one PostgreSQL database (issue #12): leadership, the shared send
pace, the webhook inbox and per-update conversation state. docs/deployment.md explains them.
"""
