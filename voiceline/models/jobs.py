"""Tables of the jobs area (filled in by that area)."""
