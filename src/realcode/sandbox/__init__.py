"""realcode.sandbox."""
