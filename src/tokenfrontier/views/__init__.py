"""Views: the CLI (and later plots and the dashboard). Views import the core, never the reverse."""
