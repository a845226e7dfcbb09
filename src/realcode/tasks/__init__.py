"""realcode.tasks."""
