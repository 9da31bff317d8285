"""FAQ answering: the knowledge base, its ranker and the bot handlers."""
