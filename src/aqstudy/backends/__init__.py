"""Compute backends as plug-ins found by name, and the Lithops adapter they share."""
