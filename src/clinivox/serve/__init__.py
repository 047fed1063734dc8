"""The clinivox server: OpenAI-compatible REST, WebSocket streaming, persistence, auth."""
