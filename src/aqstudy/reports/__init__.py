"""Tables and figures from tracked runs."""
