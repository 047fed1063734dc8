"""The live-server fixtures of tests/serve, for the regression tests that drive the server."""

from tests.serve.conftest import api_key, client, server  # noqa: F401
