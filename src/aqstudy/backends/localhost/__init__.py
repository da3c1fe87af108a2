"""Lithops' localhost backend: this machine's cores stand in for Lambda functions."""
