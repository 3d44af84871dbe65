"""The links that let a person choose their password reach them, for as long as their e-mail
says: a reset reaches a login with no usable password yet (a teacher imported from the school's
system), an invitation lives INVITATION_TIMEOUT and says so, the reset e-mail is sent by the
worker so that the request's timing tells nobody which addresses have a login, and the limit
per address counts every spelling that reaches the same login. Over real SMTP to a local server."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection

from students.passwords import invitation_tokens, lifetime_words
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ADD_TEACHER = "/admin/students/course/add-teacher/"


def body_of(message):
    return message.get_content().replace("\r\n", "\n")


def link_in(message, prefix):
    return re.search(rf"http://testserver({prefix}\S+/)", body_of(message))[1]


def ask_reset(client, email, callbacks_capture, **extra):
    """Post the reset form; returns the response and the callbacks queued for after the commit."""
    with callbacks_capture() as queued:
        response = client.post("/password-reset/", {"email": email}, **extra)
    return response, queued


def choose_password(client, link, password="a-long-Passphrase-9"):
    form = client.get(link, follow=True)
    assert "new_password1" in form.content.decode(), "the link does not work"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})
    return done


def clock_moved(monkeypatch, generator, delta):
    """Django's token clock, moved on: the link is opened `delta` after it was made."""
    later = datetime.now() + delta
    monkeypatch.setattr(generator, "_now", lambda: later)


@pytest.mark.parametrize(
    "seconds, words",
    [(3 * 86400, "3 days"), (86400, "1 day"), (3 * 3600, "3 hours"), (3600, "1 hour"), (5400, "90 minutes")],
)
def test_a_lifetime_is_said_in_whole_units_with_the_right_plural(seconds, words):
    assert lifetime_words(seconds) == words


def test_a_login_without_a_usable_password_gets_the_reset_e_mail(
    client, smtp, eager_celery, django_capture_on_commit_callbacks
):
    # As the OneRoster import and "Add a teacher" make them: the README sends them to this form.
    teacher = make_user("jlee", role="Teacher", email="jordan.lee@hillside.example", first_name="Jordan")
    teacher.set_unusable_password()
    teacher.save()

    response, queued = ask_reset(client, "jordan.lee@hillside.example", django_capture_on_commit_callbacks)
    for callback in queued:
        callback()

    assert response.status_code == 302
    [message] = smtp.messages
    assert str(message["To"]) == "jordan.lee@hillside.example"
    assert choose_password(client, link_in(message, "/reset/"))["Location"] == "/reset/done/"
    assert client.login(username="jlee", password="a-long-Passphrase-9")


def test_an_inactive_login_gets_no_reset_e_mail(client, smtp, eager_celery, django_capture_on_commit_callbacks):
    make_user("gone", email="gone@hillside.example", is_active=False)
    _, queued = ask_reset(client, "gone@hillside.example", django_capture_on_commit_callbacks)
    for callback in queued:
        callback()
    assert smtp.messages == []


def test_the_request_only_queues_the_e_mail_the_same_for_a_known_and_an_unknown_address(
    client, smtp, eager_celery, django_capture_on_commit_callbacks
):
    smtp.handler.data_delay = 0.25  # a slow school server: were it used in the request, it would show
    make_user("teacher", email="tess@school.example")

    known, queued_known = ask_reset(client, "tess@school.example", django_capture_on_commit_callbacks)
    unknown, queued_unknown = ask_reset(client, "nobody@school.example", django_capture_on_commit_callbacks)

    assert known.status_code == unknown.status_code == 302
    assert smtp.messages == []  # nothing was sent during either request
    assert len(queued_known) == len(queued_unknown) == 1
    assert [callback.args[:1] for callback in queued_known + queued_unknown] == [
        ("tess@school.example",),
        ("nobody@school.example",),
    ]

    for callback in queued_known + queued_unknown:  # the worker
        callback()
    assert [str(message["To"]) for message in smtp.messages] == ["tess@school.example"]


def test_a_look_alike_spelling_of_an_address_counts_against_the_same_limit(
    client, settings, smtp, eager_celery, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_RATE_LIMIT = 3
    make_user("carl", email="carl@school.example")
    # 'ſ' (long s) is 's' to NFKC and to PostgreSQL's UPPER(): Django sends the reset to Carl.
    spellings = ["carl@school.example", "carl@\u017fchool.example", "CARL@\u017fCHOOL.example"]
    for n, spelling in enumerate(spellings):
        response, queued = ask_reset(client, spelling, django_capture_on_commit_callbacks, REMOTE_ADDR=f"10.0.0.{n}")
        assert response.status_code == 302
        for callback in queued:
            callback()

    refused, _ = ask_reset(client, "carl@school.example", django_capture_on_commit_callbacks, REMOTE_ADDR="10.0.1.1")
    assert refused.status_code == 429
    sent = [str(message["To"]) for message in smtp.messages]
    if connection.vendor == "postgresql":
        # The database matched every spelling to Carl's login: his inbox got the limit, no more.
        assert sent == ["carl@school.example"] * 3
    else:
        assert sent[0] == "carl@school.example"


def test_the_invitation_says_how_long_its_link_works_and_it_works_that_long(client, smtp, school, monkeypatch):
    client.force_login(school.admin)
    response = client.post(ADD_TEACHER, {"full_name": "Penny Hofstadter", "email": "penny@school.example"})
    assert response.status_code == 302
    [message] = smtp.messages
    assert "(the link works once, for 3 days):" in body_of(message)
    link = link_in(message, "/invitation/")
    client.logout()

    # Three days less a minute later the invitation still works, where a reset link (3 hours) would not.
    clock_moved(monkeypatch, invitation_tokens, timedelta(days=3) - timedelta(minutes=1))
    clock_moved(monkeypatch, default_token_generator, timedelta(days=3) - timedelta(minutes=1))
    assert choose_password(client, link)["Location"] == "/reset/done/"
    assert client.login(username="penny@school.example", password="a-long-Passphrase-9")


def test_an_invitation_stops_working_after_its_lifetime_and_a_reset_token_is_no_invitation(
    client, smtp, school, monkeypatch, settings
):
    settings.INVITATION_TIMEOUT = 86400
    client.force_login(school.admin)
    client.post(ADD_TEACHER, {"full_name": "Amy Fowler", "email": "amy@school.example"})
    [message] = smtp.messages
    assert "(the link works once, for 1 day):" in body_of(message)
    link = link_in(message, "/invitation/")
    client.logout()

    clock_moved(monkeypatch, invitation_tokens, timedelta(days=1, minutes=1))
    assert "This link does not work" in client.get(link, follow=True).content.decode()
    # A reset token of the same login, put in an invitation's address, opens nothing.
    penny = school.admin.__class__.objects.get(username="amy@school.example")
    uid = link.split("/")[2]
    forged = f"/invitation/{uid}/{default_token_generator.make_token(penny)}/"
    assert "This link does not work" in client.get(forged, follow=True).content.decode()
