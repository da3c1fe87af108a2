"""Typed configuration: the schemas of the YAML files and the one place every value is checked."""
