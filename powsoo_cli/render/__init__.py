"""Rich renderables and JSON shapes; no HTTP here."""
