"""The server's routes, one router per concern: transcriptions, sessions, stream, health."""
