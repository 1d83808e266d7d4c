"""Command-line companion for the Powsoo voice-widget API."""
