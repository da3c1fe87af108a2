"""Typed configuration: the schemas of the YAML files (:mod:`.schema`) and the one place every value is checked
(:mod:`.validation`)."""


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and the fix."""
