"""Tables of the calls area (filled in by that area)."""
