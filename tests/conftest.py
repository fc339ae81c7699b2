"""Registers the shared fixtures (tests/fixtures.py) for every test layer."""

pytest_plugins = ["tests.fixtures"]
