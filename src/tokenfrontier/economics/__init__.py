"""Economics: TCO, rental, $ per million tokens, agentic mixes, deals, fleets, calculator."""
