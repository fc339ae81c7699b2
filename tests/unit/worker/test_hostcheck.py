"""The worker's start-up advice about the host, and what doctor reports of it."""

from __future__ import annotations

from shared.doctor import Status
from worker.hostcheck import inotify_advice, inotify_checks


def test_low_inotify_limit_is_reported_with_the_fix():
    advice = inotify_advice(128, local_docker=True)
    assert "max_user_instances is 128" in advice
    assert "sysctl -w fs.inotify.max_user_instances=1024" in advice


def test_no_advice_when_the_limit_is_high_or_docker_is_remote():
    assert inotify_advice(8192, local_docker=True) == ""
    assert inotify_advice(128, local_docker=False) == ""
    assert inotify_advice(None, local_docker=True) == ""


def test_doctor_warns_about_a_low_instance_limit_with_the_sysctl_fix_to_persist():
    instances, watches = inotify_checks(128, 200_000, "unix:///var/run/docker.sock")
    assert instances.status is Status.WARN
    assert "fs.inotify.max_user_instances is 128" in instances.found
    assert "sysctl -w fs.inotify.max_user_instances=1024" in instances.fix
    assert "/etc/sysctl.d/" in instances.fix
    assert watches.status is Status.OK


def test_doctor_warns_about_a_low_watch_limit():
    _, watches = inotify_checks(1024, 8192, "unix:///var/run/docker.sock")
    assert watches.status is Status.WARN
    assert "fs.inotify.max_user_watches is 8192" in watches.found
    assert "sysctl -w fs.inotify.max_user_watches=65536" in watches.fix


def test_doctor_says_ok_with_the_values_when_the_limits_are_high():
    checks = inotify_checks(1024, 65536, "unix:///var/run/docker.sock")
    assert [c.status for c in checks] == [Status.OK, Status.OK]
    assert checks[0].found == "fs.inotify.max_user_instances is 1024 (>= 1024)"


def test_doctor_does_not_judge_this_host_for_a_remote_docker_or_unreadable_limits():
    (remote,) = inotify_checks(128, 8192, "tcp://10.0.0.1:2375")
    assert remote.status is Status.NOTE and "not on this host" in remote.found
    unreadable = inotify_checks(None, None, "unix:///var/run/docker.sock")
    assert [c.status for c in unreadable] == [Status.NOTE, Status.NOTE]
