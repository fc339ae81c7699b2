"""A normal (non-editable) install: the wheel, in a fresh virtualenv, serves the web view."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

from tests.access import auth_headers
from tests.procs import Proc

ROOT = Path(__file__).resolve().parents[2]
_REFS = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")
_IMPORTS = re.compile(r"""from\s+"\./([^"]+)\"""")
_WEB = re.compile(r"and http://(\S+)/")


def _build_wheel(tmp: Path) -> Path:
    """Build the wheel from a copy of what the package is made of (the checkout stays clean)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("master", "worker", "shared", "web"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(out), str(src)], check=True, capture_output=True)
    (wheel,) = out.glob("logcast-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new virtualenv with the wheel installed; its dependencies come from this test run's
    environment (a path entry, so no download), never logcast's own source tree."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def _get(url: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=auth_headers())  # the session's owner
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def test_the_installed_wheel_serves_the_page_and_every_asset_it_references(tmp_path):
    venv = _fresh_venv(tmp_path, _build_wheel(tmp_path))
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import master, web; print(master.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(venv)), where  # the installed copy, not the checkout

    master = Proc(
        [
            str(venv / "bin" / "master"),
            "serve",
            "--grpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--cluster",
            "127.0.0.1:0",
        ],
        tmp_path / "master.log",
    )
    try:
        master.wait_listening()
        http = _WEB.search(master.log.read_text()).group(1)
        fetched: dict[str, bytes] = {}
        pending = []
        for page in ("/", "/tasks/task-123456", "/login"):
            status, ctype, body = _get(f"http://{http}{page}")
            assert status == 200 and ctype.startswith("text/html"), page
            pending += _REFS.findall(body.decode())
        assert pending, "the pages reference no assets"
        while pending:
            path = pending.pop()
            if path in fetched:
                continue
            status, ctype, body = _get(f"http://{http}{path}")
            assert status == 200 and body, path
            fetched[path] = body
            if path.endswith(".js"):
                assert ctype.startswith("text/javascript"), (path, ctype)
                pending += [f"/static/{name}" for name in _IMPORTS.findall(body.decode())]
        # every file the page needs came from the package
        assert {"/static/task.js", "/static/logview.js", "/static/ansi.js"} <= set(fetched)
        assert {"/static/tasks.js", "/static/style.css", "/static/favicon.svg"} <= set(fetched)
        assert "/static/login.js" in fetched
    finally:
        master.stop()
