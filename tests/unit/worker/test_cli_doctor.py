"""``worker doctor`` checks what ``worker serve`` would meet: same options, same defaults."""

from __future__ import annotations

from worker.cli import build_parser
from worker.config import WorkerConfig


def test_doctor_takes_serves_options_with_serves_defaults():
    defaults = WorkerConfig()
    doctor = build_parser().parse_args(["doctor"])
    serve = build_parser().parse_args(["serve"])
    for option in ("master", "listen", "metrics", "name", "docker_host", "data_dir"):
        assert getattr(doctor, option) == getattr(serve, option), option
    assert (doctor.listen, doctor.docker_host) == (defaults.listen, defaults.docker_host)
    assert doctor.json is False
