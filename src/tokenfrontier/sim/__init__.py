"""A request-level serving simulator that takes its step times from the step model."""
