"""Tables of the web area (filled in by that area)."""
