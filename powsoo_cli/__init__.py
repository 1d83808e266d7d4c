"""Command-line companion for the Powsoo voice-widget API."""

# The one place the version is written; the package metadata is built from it.
__version__ = "0.1.0"
