import pytest
from django.test import override_settings
from django.urls import reverse

from .factories import make_user

pytestmark = pytest.mark.django_db


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
