"""doctor's core: what each finding means, how the report reads, and its exit code. Pure."""

from __future__ import annotations

import json
import time

import pytest

from shared import pki
from shared.doctor import (
    DAY,
    FAIL_FREE_BYTES,
    NTP_FIX,
    UNREADABLE_FIX,
    Check,
    GiB,
    Status,
    certificate_check,
    directory_check,
    docker_check,
    exit_code,
    format_report,
    format_skew,
    master_checks,
    port_check,
    registration_check,
    report_json,
    skew_check,
    space_status,
    worker_check,
    worst,
)
from shared.model import WorkerSummary

OK = Check("docker", Status.OK, "reachable")
NOTE = Check("ca-cert", Status.NOTE, "none yet: made on the first start of master serve")
WARN = Check("inotify", Status.WARN, "limit is 128", "sysctl -w ...")
FAIL = Check("data-dir", Status.FAIL, "cannot write /x", "choose another")


def worker(name: str = "w1", *, alive: bool = True, skew: float | None = 0.01) -> WorkerSummary:
    return WorkerSummary(name, "127.0.0.1:1", alive, 0, 1000.0, clock_skew=skew)


# ---------------------------------------------------------------- exit code and report


@pytest.mark.parametrize(
    ("checks", "code", "status"),
    [
        ([], 0, Status.OK),
        ([OK, OK], 0, Status.OK),
        ([OK, NOTE], 0, Status.NOTE),
        ([OK, WARN, NOTE], 0, Status.WARN),
        ([OK, FAIL, WARN], 1, Status.FAIL),
    ],
)
def test_warnings_exit_0_and_any_failure_exits_1(checks, code, status):
    assert exit_code(checks) == code
    assert worst(checks) is status


def test_the_report_is_one_aligned_line_per_check_with_the_fix_indented_under_it():
    text = format_report([OK, WARN, FAIL])
    assert text.splitlines() == [
        "ok    docker    reachable",
        "warn  inotify   limit is 128",
        "      fix: sysctl -w ...",
        "fail  data-dir  cannot write /x",
        "      fix: choose another",
        "doctor: 1 ok, 1 warning, 1 failure",
    ]
    assert text.endswith("\n")


def test_the_summary_counts_notes_and_says_when_nothing_failed():
    assert format_report([OK, NOTE, NOTE]).splitlines()[-1] == (
        "doctor: 1 ok, 2 notes, 0 warnings, no failure"
    )


def test_json_output_carries_every_check_the_worst_status_and_the_exit_code():
    body = json.loads(report_json([OK, WARN]))
    assert body == {
        "status": "warn",
        "exit_code": 0,
        "checks": [
            {"name": "docker", "status": "ok", "found": "reachable", "fix": ""},
            {"name": "inotify", "status": "warn", "found": "limit is 128", "fix": "sysctl -w ..."},
        ],
    }
    assert json.loads(report_json([FAIL]))["exit_code"] == 1


# ---------------------------------------------------------------- disk


@pytest.mark.parametrize(
    ("free", "total", "status"),
    [
        (50 * GiB, 100 * GiB, Status.OK),
        (2 * GiB, 100 * GiB, Status.WARN),  # 2 %: under 5 %
        (GiB // 2, 2 * GiB, Status.WARN),  # 25 %, but under 1 GiB
        (FAIL_FREE_BYTES - 1, 100 * GiB, Status.FAIL),
        (0, 0, Status.FAIL),
    ],
)
def test_free_space_warns_under_1_gib_or_5_percent_and_fails_when_nearly_full(free, total, status):
    assert space_status(free, total)[0] is status


def test_a_directory_that_cannot_be_written_fails_with_the_option_that_moves_it():
    problem = "/x is not a directory"
    check = directory_check(
        "data-dir", "--data-dir", "/x/y", problem=problem, exists=False, free=0, total=0
    )
    assert check.status is Status.FAIL
    assert "/x/y cannot be used: /x is not a directory" in check.found
    assert "--data-dir DIR" in check.fix


def test_a_directory_to_be_created_with_room_is_ok_and_says_so():
    check = directory_check(
        "data-dir", "--data-dir", "/d", problem="", exists=False, free=50 * GiB, total=100 * GiB
    )
    assert check.status is Status.OK and check.fix == ""
    assert check.found == "/d: does not exist yet, can be created; 50.0 GiB free of 100.0 GiB (50%)"


def test_a_full_filesystem_fails_with_a_fix():
    check = directory_check(
        "state-dir", "--state-dir", "/d", problem="", exists=True, free=10, total=100 * GiB
    )
    assert check.status is Status.FAIL and "nearly full" in check.found
    assert "--state-dir DIR" in check.fix


# ---------------------------------------------------------------- clocks


def test_skew_is_shown_signed_in_seconds():
    assert format_skew(0.0021) == "+0.002 s"
    assert format_skew(-1.25) == "-1.250 s"
    assert format_skew(None) == "-"


def test_skew_beyond_one_second_either_way_warns_with_the_ntp_fix():
    assert skew_check("clock", "worker w1", 0.2).status is Status.OK
    for skew in (1.5, -3.0):
        check = skew_check("clock", "worker w1", skew)
        assert check.status is Status.WARN
        assert "chrony" in check.fix and "systemd-timesyncd" in check.fix


def test_unknown_skew_is_a_note_not_a_pass():
    check = skew_check("clock", "worker w1", None)
    assert check.status is Status.NOTE and "unknown" in check.found


def test_master_doctor_reports_each_worker_alive_with_its_skew_or_down():
    checks = master_checks(
        "m:1", [worker("a", skew=0.003), worker("b", alive=False), worker("c", skew=2.0)], "", 1060
    )
    by_name = {c.name: c for c in checks}
    assert (
        by_name["master"].status is Status.OK and "3 worker(s), 2 alive" in by_name["master"].found
    )
    assert by_name["worker:a"].status is Status.OK
    assert "alive" in by_name["worker:a"].found and "+0.003 s" in by_name["worker:a"].found
    assert by_name["worker:b"].status is Status.WARN
    assert "down (last heartbeat 60 s ago)" in by_name["worker:b"].found
    assert by_name["worker:c"].status is Status.WARN


def test_no_master_answering_is_a_warning_since_doctor_may_run_before_the_first_start():
    (check,) = master_checks("127.0.0.1:50051", None, "connection refused", 0)
    assert check.status is Status.WARN
    assert check.found == "no master answers at 127.0.0.1:50051 (connection refused)"
    assert "master serve" in check.fix


def test_a_master_without_workers_warns_that_tasks_cannot_run():
    checks = master_checks("m:1", [], "", 0)
    assert [c.status for c in checks] == [Status.OK, Status.WARN]
    assert "worker serve --master m:1" in checks[1].fix


def test_worker_doctor_reports_the_skew_the_master_measured_for_its_name():
    ok = registration_check("m:1", "w1", [worker("w0"), worker("w1", skew=-0.004)], "")
    assert ok.status is Status.OK and "-0.004 s" in ok.found and "registered" in ok.found
    missing = registration_check("m:1", "w9", [worker("w1")], "")
    assert missing.status is Status.WARN and "not registered" in missing.found
    assert "--name w9" in missing.fix
    unreachable = registration_check("m:1", "w1", None, "connection refused")
    assert unreachable.status is Status.WARN and "connection refused" in unreachable.found
    standalone = registration_check("", "w1", None, "")
    assert standalone.status is Status.NOTE


def test_worker_check_down_never_seen():
    check = worker_check(WorkerSummary("w", "a", False, 0, 0.0), now=5)
    assert "never" in check.found


# ---------------------------------------------------------------- ports, Docker


def test_a_free_port_is_ok_and_port_0_is_any_free_port():
    assert port_check("grpc", "--grpc", "127.0.0.1:50051", "", "").status is Status.OK
    assert "any free port" in port_check("l", "--listen", "127.0.0.1:0", "", "").found


def test_a_port_held_by_another_program_fails_and_says_how_to_find_it():
    check = port_check("grpc", "--grpc", "127.0.0.1:50051", "in use", "")
    assert check.status is Status.FAIL
    assert "in use by another program" in check.found
    assert "ss -ltnp 'sport = :50051'" in check.fix and "--grpc HOST:PORT" in check.fix


def test_a_port_held_by_a_running_master_is_a_note_that_says_so():
    check = port_check("http", "--http", "127.0.0.1:8080", "in use", "master")
    assert check.status is Status.NOTE
    assert "a master is already running there" in check.found


def test_an_address_not_on_this_host_fails():
    check = port_check("grpc", "--grpc", "10.9.9.9:1", "Cannot assign requested address", "")
    assert check.status is Status.FAIL and "Cannot assign requested address" in check.found


def test_docker_reachable_names_its_version():
    check = docker_check("unix:///var/run/docker.sock", "20.10.24", "1.41", "")
    assert check == Check(
        "docker",
        Status.OK,
        "reachable at unix:///var/run/docker.sock: Docker 20.10.24 (API 1.41)",
    )


def test_docker_unreachable_fails_with_the_fix_for_its_cause():
    gone = docker_check("unix:///var/run/docker.sock", "", "", "no socket at /var/run/docker.sock")
    assert gone.status is Status.FAIL and "start dockerd" in gone.fix
    denied = docker_check("unix:///var/run/docker.sock", "", "", "permission denied on /x")
    assert denied.status is Status.FAIL and "docker group" in denied.fix
    remote = docker_check("tcp://10.0.0.1:2375", "", "", "timed out")
    assert remote.status is Status.FAIL and "listens there" in remote.fix


# ---------------------------------------------------------------- certificates

CERT = "/state/workers/w1/identity/cert.pem"


@pytest.fixture(scope="module")
def ca() -> tuple[bytes, bytes]:
    return pki.new_ca("test CA")


def issued(ca: tuple[bytes, bytes], seconds: float) -> tuple[bytes, pki.Issued]:
    """A worker certificate valid ``seconds`` from now, and what it says."""
    pem = pki.issue(*ca, pki.new_key(), "worker:w1", pki.worker_dns("w1"), seconds)
    return pem, pki.describe(pem)


def cert_check(pem: bytes | None, now: float, *, required: bool = False, error: str = "") -> Check:
    return certificate_check(
        "worker-cert",
        CERT,
        pem,
        now,
        missing="not joined yet",
        soon="check the link",
        bad="join again",
        required=required,
        error=error,
    )


def test_a_certificate_with_weeks_left_passes_with_its_end_and_the_days_left(ca):
    pem, cert = issued(ca, 30 * DAY)
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(cert.not_after))
    check = cert_check(pem, cert.not_after - 20 * DAY - 1)
    assert check == Check("worker-cert", Status.OK, f"{CERT}: valid until {until} (20 days left)")
    assert cert_check(pem, cert.not_after - 7 * DAY).status is Status.OK  # 7 days: still ok


def test_fewer_than_7_days_left_warns_with_the_fix_for_this_certificate(ca):
    pem, cert = issued(ca, 30 * DAY)
    check = cert_check(pem, cert.not_after - 6.5 * DAY)
    assert check.status is Status.WARN
    assert check.found.endswith("(6 days left)") and check.fix == "check the link"
    assert cert_check(pem, cert.not_after - 5 * 3600).found.endswith("(5 hours left)")
    assert cert_check(pem, cert.not_after - 90).found.endswith("(1 minute left)")


def test_a_short_lived_certificate_warns_only_once_its_renewal_is_overdue(ca):
    """Renewed after two thirds of its lifetime, a 6-day certificate always has fewer than 7
    days left: it warns only in its last third."""
    pem, cert = issued(ca, 6 * DAY)
    assert cert_check(pem, cert.not_before + DAY).status is Status.OK
    assert cert_check(pem, cert.not_after - DAY).status is Status.WARN


def test_an_expired_certificate_fails_naming_its_file_and_when_it_ended(ca):
    pem, cert = issued(ca, 30 * DAY)
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(cert.not_after))
    check = cert_check(pem, cert.not_after + 2 * DAY)
    assert check == Check(
        "worker-cert", Status.FAIL, f"{CERT}: expired on {until} (2 days ago)", "join again"
    )
    assert cert_check(pem, cert.not_after).status is Status.FAIL  # its last second is gone


def test_a_file_that_is_no_certificate_fails_naming_the_file():
    for pem, why in (
        (b"garbage\n", "no PEM certificate can be read from it"),
        (b"", "an empty file"),
    ):
        check = cert_check(pem, 0.0)
        assert check == Check("worker-cert", Status.FAIL, f"{CERT}: {why}", "join again")
    truncated = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    assert cert_check(truncated, 0.0).status is Status.FAIL


def test_a_missing_certificate_is_a_note_unless_it_is_required():
    assert cert_check(None, 0.0) == Check("worker-cert", Status.NOTE, f"{CERT}: not joined yet")
    required = cert_check(None, 0.0, required=True)
    assert required == Check("worker-cert", Status.FAIL, f"{CERT}: not joined yet", "join again")


def test_an_unreadable_certificate_fails_with_why():
    check = cert_check(None, 0.0, error="Permission denied")
    assert check == Check(
        "worker-cert", Status.FAIL, f"{CERT}: cannot read it (Permission denied)", UNREADABLE_FIX
    )


def test_a_certificate_not_valid_yet_blames_this_hosts_clock(ca):
    pem, cert = issued(ca, 30 * DAY)
    check = cert_check(pem, cert.not_before - DAY)
    assert check.status is Status.WARN and check.fix == NTP_FIX
    assert "not valid before" in check.found
