"""The browser view's files (HTML, JavaScript, CSS, icon), shipped as package data.

The master serves them from :data:`ASSETS`, wherever logcast is installed.
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent
"""The directory holding the page files (served as ``/``, ``/tasks/<id>``, ``/static/<file>``)."""
