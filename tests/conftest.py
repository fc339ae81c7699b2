"""Registers the shared fixtures (tests/fixtures.py) for every test layer, and gives the test
session its own state directory with one owner credential (tests/access.py)."""

import pytest

pytest_plugins = ["tests.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    from tests.access import start_session

    start_session()
