"""The worker's start-up advice about the host."""

from __future__ import annotations

from worker.hostcheck import inotify_advice


def test_low_inotify_limit_is_reported_with_the_fix():
    advice = inotify_advice(128, local_docker=True)
    assert "max_user_instances is 128" in advice
    assert "sysctl -w fs.inotify.max_user_instances=1024" in advice


def test_no_advice_when_the_limit_is_high_or_docker_is_remote():
    assert inotify_advice(8192, local_docker=True) == ""
    assert inotify_advice(128, local_docker=False) == ""
    assert inotify_advice(None, local_docker=True) == ""
