"""Who gets in: login attempts are limited per user name (every spelling of it) and per client
address, read through the trusted proxies only, on the site's login and the admin's alike."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from attendance_site.ratelimit import client_address
from tests.factories import make_user

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parent.parent


def login(client, username, password, address, url="/login/", **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


@override_settings(LOGIN_RATE_LIMIT=3)
def test_a_full_width_spelling_of_a_user_name_counts_against_the_same_login(client):
    make_user("teacher2", role="Teacher")
    for n in range(3):
        login(client, "teacher2", "wrong", f"198.51.100.{n}")
    # The form normalises "ｔeacher2" (full-width t) to "teacher2" before it authenticates.
    response = login(client, "\uff54eacher2", "pw-teacher2", "198.51.100.50")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_LIMIT=3)
def test_the_admin_login_is_limited_like_the_sites_and_then_does_not_check_the_password(client):
    make_user("boss", is_staff=True, is_superuser=True)
    for n in range(3):
        assert login(client, "boss", "wrong", f"198.51.100.{n}", url="/admin/login/").status_code == 200
    response = login(client, "boss", "pw-boss", "198.51.100.50", url="/admin/login/")
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_LIMIT=3)
def test_the_admin_and_the_site_login_share_the_per_address_count(client):
    for n in range(2):
        login(client, f"guess{n}", "x", "203.0.113.9", url="/admin/login/")
    login(client, "guess2", "x", "203.0.113.9")
    assert login(client, "guess3", "x", "203.0.113.9", url="/admin/login/").status_code == 429


@override_settings(LOGIN_RATE_LIMIT=3, TRUSTED_PROXY_HOPS=1)
def test_behind_one_trusted_load_balancer_each_client_has_its_own_address_count(client):
    answers = [
        login(client, f"guess{n}", "x", "10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(6)
    ]
    assert answers == [200] * 6


@override_settings(LOGIN_RATE_LIMIT=3, TRUSTED_PROXY_HOPS=1)
def test_a_client_cannot_escape_the_address_count_by_forging_the_start_of_the_header(client):
    answers = [
        login(client, f"guess{n}", "x", "10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7").status_code
        for n in range(4)
    ]
    assert answers == [200, 200, 200, 429]


@pytest.mark.parametrize(
    "hops, forwarded_for, expected",
    [
        (0, "203.0.113.7", "10.0.0.1"),  # no proxy trusted: the header is the client's say-so
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "192.0.2.66, 203.0.113.7", "203.0.113.7"),
        (2, "192.0.2.66, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        (2, "203.0.113.7", "10.0.0.1"),  # shorter than the trusted hops: not through them all
        (1, "", "10.0.0.1"),
        (1, "192.0.2.66, not-an-address", "10.0.0.1"),
        (1, "192.0.2.66,", "10.0.0.1"),
        (1, "203.0.113.7:4711", "10.0.0.1"),
    ],
)
def test_the_client_address_is_read_through_the_trusted_hops_only(settings, hops, forwarded_for, expected):
    settings.TRUSTED_PROXY_HOPS = hops
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_address(request) == expected


def test_a_negative_number_of_proxy_hops_is_refused_at_start():
    env = {**os.environ, "TRUSTED_PROXY_HOPS": "-1"}
    result = subprocess.run(
        [sys.executable, "-c", "import attendance_site.settings"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "TRUSTED_PROXY_HOPS" in result.stderr


@override_settings(LOGIN_RATE_LIMIT=3)
def test_login_attempts_are_limited_per_user_name_and_the_password_is_then_not_checked(client):
    make_user("teach", role="Teacher")
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "teach", "password": "wrong"})
        assert response.status_code == 200  # wrong password, form shown again
    response = client.post(reverse("login"), {"username": "teach", "password": "pw-teach"})
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_LIMIT=3)
def test_login_attempts_are_limited_per_address_across_user_names(client):
    for n in range(3):
        client.post(reverse("login"), {"username": f"guess{n}", "password": "x"})
    response = client.post(reverse("login"), {"username": "someone-else", "password": "x"})
    assert response.status_code == 429


def test_a_right_password_within_the_limit_logs_in(client):
    make_user("teach", role="Teacher")
    response = client.post(reverse("login"), {"username": "teach", "password": "pw-teach"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]
