"""Command-line interface: parse, call the library, format."""
