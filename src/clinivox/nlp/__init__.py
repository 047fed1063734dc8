"""Text models: sentence embeddings (MiniLM in numpy), negation."""
