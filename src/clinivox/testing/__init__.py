"""Helpers to make test audio: Piper speech and generated signals."""
