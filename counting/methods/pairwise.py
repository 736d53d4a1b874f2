"""Placeholder until the method lands; registers nothing."""
