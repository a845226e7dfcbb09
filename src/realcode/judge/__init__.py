"""realcode.judge."""
