"""Students are invited as teachers are (students/invitations.py): a school admin selects them
in the admin, each gets a login named by their e-mail and an e-mail with the link to choose its
password, through the local SMTP server (tests/smtp_server.py). OneRoster's students are
invited in bulk by filtering the list on "from the school's system" and selecting them all."""

import re

import pytest
from django.contrib.auth.models import User

from students.models import Student
from tests.factories import make_student, make_user

pytestmark = pytest.mark.django_db

STUDENTS = "/admin/students/student/"


def invite(client, students, **filters):
    return client.post(
        STUDENTS + ("?" + "&".join(f"{k}={v}" for k, v in filters.items()) if filters else ""),
        {"action": "invite_to_log_in", "_selected_action": [student.pk for student in students]},
        follow=True,
    )


def body_of(message):
    return message.get_content().replace("\r\n", "\n")


def test_inviting_students_makes_each_a_login_and_e_mails_the_link_to_choose_a_password(client, smtp):
    admin = make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    ada, bob = make_student("S1", "Ada Lovelace"), make_student("S2", "Bob Babbage")
    Student.objects.filter(pk=ada.pk).update(email="ada@students.example")
    Student.objects.filter(pk=bob.pk).update(email="bob@students.example")
    nobody = make_student("S3", "No Mail")
    client.force_login(admin)

    page = invite(client, [ada, bob, nobody]).content.decode()
    assert "Invitations sent to 2 students." in page and "No Mail (S3) not invited: no e-mail address." in page
    assert sorted(message["To"] for message in smtp.messages) == ["ada@students.example", "bob@students.example"]
    ada.refresh_from_db()
    assert ada.user.username == "ada@students.example" and not ada.user.has_usable_password()
    assert not ada.user.groups.exists() and not ada.user.is_staff
    [message] = [message for message in smtp.messages if message["To"] == "ada@students.example"]
    assert message["Subject"] == "Your Roll Call login"
    link = re.search(r"http://testserver(/invitation/\S+/)", body_of(message))[1]

    client.logout()
    form = client.get(link, follow=True)
    password = "a-long-Passphrase-9"
    client.post(form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})
    assert client.login(username="ada@students.example", password=password)
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/me/attendance/"

    # Again: Ada has a password now and is not invited twice.
    client.force_login(admin)
    page = invite(client, [ada]).content.decode()
    assert "not invited: has a login with a password already." in page and len(smtp.messages) == 2


def test_students_from_the_school_system_are_invited_in_bulk_from_the_filtered_list(client, smtp):
    client.force_login(make_user("boss", role="Admin", is_staff=True, is_superuser=True))
    imported = []
    for n in range(3):
        student = make_student(f"R{n}", f"Roster Student{n}")
        Student.objects.filter(pk=student.pk).update(sourced_id=f"s{n}", email=f"r{n}@students.example")
        imported.append(student)
    make_student("H1", "Hand Made")
    listed = client.get(STUDENTS, {"imported": "yes"}).content.decode()
    assert listed.count('name="_selected_action"') == 3 and "Hand Made" not in listed

    page = invite(client, imported, imported="yes").content.decode()
    assert "Invitations sent to 3 students." in page
    assert sorted(message["To"] for message in smtp.messages) == [f"r{n}@students.example" for n in range(3)]
    assert User.objects.filter(student__sourced_id__isnull=False).count() == 3


def test_a_send_that_fails_creates_no_login(client, smtp):
    client.force_login(make_user("boss", role="Admin", is_staff=True, is_superuser=True))
    ada = make_student("S1", "Ada Lovelace")
    Student.objects.filter(pk=ada.pk).update(email="ada@students.example")
    smtp.refuse_next("RCPT", "550 5.1.1 No such mailbox")
    page = invite(client, [ada]).content.decode()
    assert "the e-mail could not be sent" in page and "so no login was created" in page
    assert not User.objects.filter(username="ada@students.example").exists()
