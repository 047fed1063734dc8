"""Text models: sentence embeddings (MiniLM in numpy). Assertions (negation and context)
are in `clinivox.nlu.context`."""
