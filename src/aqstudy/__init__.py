"""A study harness for Lithops map-reduce over OpenAQ air-quality data."""

__version__ = "0.1.0"
