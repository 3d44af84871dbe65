"""Signing in: the password reset by e-mail (limited, and silent about which addresses exist),
sign-in with the school's Google or Microsoft account through allauth's real OpenID Connect
client against a local fake provider over HTTP, and what the site calls people once they are in."""

import json
import re

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import User
from django.core import mail
from django.test import override_settings

from students.signin import UNKNOWN_ADDRESS
from tests.factories import make_course, make_student, make_user
from tests.fake_oidc import FakeOpenIDProvider
from tests.test_code_health import run_python

pytestmark = pytest.mark.django_db

SCHOOL_DOMAIN = "school.example"
CLIENT_ID, CLIENT_SECRET = "roll-call-client", "roll-call-secret"


def school_provider_app(fake, provider_id="google", name="Google", **app_settings):
    return {
        "provider_id": provider_id,
        "name": name,
        "client_id": CLIENT_ID,
        "secret": CLIENT_SECRET,
        "settings": {"server_url": fake.url, "oauth_pkce_enabled": True, **app_settings},
    }


@pytest.fixture
def fake_provider():
    fake = FakeOpenIDProvider(CLIENT_ID, CLIENT_SECRET)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def google_at_school(fake_provider, settings):
    """The fake provider configured as the school's Google, for addresses at SCHOOL_DOMAIN."""
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [school_provider_app(fake_provider)]}}
    settings.SIGNIN_EMAIL_DOMAINS = [SCHOOL_DOMAIN]
    return fake_provider


def person(email, verified=True, **claims):
    return {"sub": f"sub-{email}", "email": email, "email_verified": verified, **claims}


def sign_in_with(client, fake, provider_id="google"):
    """Start at our login link, let the provider send the browser back, land on our callback."""
    start = client.get(f"/accounts/oidc/{provider_id}/login/")
    assert start.status_code == 302 and start["Location"].startswith(f"{fake.url}/authorize?")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    back = at_provider.headers["Location"]
    assert back.startswith(f"http://testserver/accounts/oidc/{provider_id}/login/callback/?")
    return client.get(back.removeprefix("http://testserver"), follow=True)


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# --- signing in with the school's account --------------------------------------------------


def test_a_verified_school_address_signs_in_the_login_that_has_it(client, google_at_school):
    teacher = make_user(
        "teacher", role="Teacher", first_name="Tess", last_name="Teacher", email="Tess.Teacher@School.example"
    )
    users_before = User.objects.count()
    google_at_school.signed_in = person("tess.teacher@school.example", name="Tess T.")

    response = sign_in_with(client, google_at_school)

    assert signed_in_user_id(client) == str(teacher.pk)
    assert response.redirect_chain[-1][0] == "/"
    assert "Hello, Tess Teacher" in response.content.decode()
    assert User.objects.count() == users_before
    # Nothing links the provider's account to the login: the address is checked at every sign-in.
    assert not SocialAccount.objects.exists()
    # The real client library asked the provider for the code's tokens and the userinfo.
    assert {"/.well-known/openid-configuration", "/authorize", "/token", "/userinfo"} <= set(
        google_at_school.paths_requested()
    )


@pytest.mark.parametrize(
    "who, expected",
    [
        (person("tess@school.example", verified=False), "has not verified the e-mail address tess@school.example"),
        (person("tess@gmail.example"), "tess@gmail.example is not a school address"),
        (person("nobody@school.example"), str(UNKNOWN_ADDRESS)),
        ({"sub": "no-email"}, "has not verified the e-mail address (none)"),
    ],
    ids=["unverified", "another-domain", "unknown", "no-address"],
)
def test_a_sign_in_is_refused_without_a_verified_school_address_of_a_login(client, google_at_school, who, expected):
    # Logins with each address exist, but for the unknown one: only the rule refuses them.
    make_user("tess", role="Teacher", email="tess@school.example")
    make_user("tess_at_home", role="Teacher", email="tess@gmail.example")
    users_before = User.objects.count()
    google_at_school.signed_in = who

    response = sign_in_with(client, google_at_school)

    assert signed_in_user_id(client) is None
    assert response.redirect_chain[-1][0] == "/login/"
    assert any(expected in message for message in messages_of(response)), messages_of(response)
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()


def test_an_inactive_login_or_an_address_two_logins_share_is_refused(client, google_at_school):
    make_user("gone", email="gone@school.example", is_active=False)
    make_user("twin1", email="twin@school.example")
    make_user("twin2", email="TWIN@school.example")
    for address in ("gone@school.example", "twin@school.example"):
        google_at_school.signed_in = person(address)
        response = sign_in_with(client, google_at_school)
        assert signed_in_user_id(client) is None
        assert str(UNKNOWN_ADDRESS) in messages_of(response)


def test_an_id_token_for_another_client_is_refused(client, google_at_school):
    make_user("tess", email="tess@school.example")
    google_at_school.signed_in = person("tess@school.example")
    google_at_school.id_token_changes = {"aud": "some-other-site"}

    response = sign_in_with(client, google_at_school)

    assert signed_in_user_id(client) is None
    assert "Signing in with Google did not work" in " ".join(messages_of(response))


def test_microsofts_verified_claim_signs_in_from_the_id_token_alone(client, fake_provider, settings):
    """Microsoft marks a verified address with xms_edov in the ID token (its userinfo has no such
    claim); the settings read the ID token alone for it."""
    app = school_provider_app(fake_provider, "microsoft", "Microsoft", fetch_userinfo=False)
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [app]}}
    settings.SIGNIN_EMAIL_DOMAINS = [SCHOOL_DOMAIN]
    teacher = make_user("teacher", email="tess@school.example")
    fake_provider.signed_in = {"sub": "ms-1", "email": "tess@school.example", "xms_edov": True}

    sign_in_with(client, fake_provider, "microsoft")

    assert signed_in_user_id(client) == str(teacher.pk)
    assert "/userinfo" not in fake_provider.paths_requested()


def test_the_login_page_offers_the_configured_school_accounts(client, google_at_school):
    page = client.get("/login/").content.decode()
    assert 'href="/accounts/oidc/google/login/"' in page
    assert "Sign in with Google" in page


def test_without_configured_providers_there_are_no_buttons_and_no_provider_routes(client, settings):
    assert settings.SOCIALACCOUNT_PROVIDERS == {"openid_connect": {"APPS": []}}
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page and "/accounts/" not in page
    for provider_id in ("google", "microsoft", "openid_connect"):
        assert client.get(f"/accounts/oidc/{provider_id}/login/").status_code == 404
        assert client.get(f"/accounts/oidc/{provider_id}/login/callback/?code=x&state=y").status_code == 404


def test_allauths_own_account_pages_are_not_routed(client):
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/3rdparty/signup/"):
        assert client.get(path).status_code == 404, path


SIGNIN_VARIABLES = [
    "GOOGLE_OIDC_CLIENT_ID",
    "GOOGLE_OIDC_CLIENT_SECRET",
    "MICROSOFT_OIDC_CLIENT_ID",
    "MICROSOFT_OIDC_CLIENT_SECRET",
    "MICROSOFT_OIDC_TENANT",
    "SIGNIN_EMAIL_DOMAINS",
]


def settings_in_a_fresh_process(**env):
    """The sign-in apps the settings build from these environment variables (the others of
    SIGNIN_VARIABLES unset), or the error they refuse to start with."""
    program = (
        "import django, json; from django.conf import settings\n"
        "try:\n"
        "    django.setup(); print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS']))\n"
        "except Exception as error:\n"
        "    print(json.dumps({'error': str(error)}))\n"
    )
    unset = dict.fromkeys(SIGNIN_VARIABLES)
    result = run_python(program, **{**unset, "DJANGO_SETTINGS_MODULE": "attendance_site.settings", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_environment_switches_on_google_and_microsoft():
    apps = settings_in_a_fresh_process(
        GOOGLE_OIDC_CLIENT_ID="g-id",
        GOOGLE_OIDC_CLIENT_SECRET="g-secret",
        MICROSOFT_OIDC_CLIENT_ID="m-id",
        MICROSOFT_OIDC_CLIENT_SECRET="m-secret",
        MICROSOFT_OIDC_TENANT="tenant-guid",
        SIGNIN_EMAIL_DOMAINS="school.example",
    )
    by_id = {app["provider_id"]: app for app in apps}
    assert by_id["google"]["client_id"] == "g-id" and by_id["google"]["secret"] == "g-secret"
    assert by_id["google"]["settings"]["server_url"] == "https://accounts.google.com"
    assert by_id["microsoft"]["settings"]["server_url"] == "https://login.microsoftonline.com/tenant-guid/v2.0"
    assert by_id["microsoft"]["settings"]["fetch_userinfo"] is False
    assert settings_in_a_fresh_process() == []


def test_a_provider_without_school_domains_or_a_multi_tenant_microsoft_is_refused_at_start():
    assert "SIGNIN_EMAIL_DOMAINS" in settings_in_a_fresh_process(GOOGLE_OIDC_CLIENT_ID="g-id")["error"]
    refused = settings_in_a_fresh_process(
        MICROSOFT_OIDC_CLIENT_ID="m-id", MICROSOFT_OIDC_TENANT="common", SIGNIN_EMAIL_DOMAINS="school.example"
    )
    assert "MICROSOFT_OIDC_TENANT" in refused["error"]


# --- the password reset ----------------------------------------------------------------------


def reset_link(message):
    return re.search(r"http://testserver(/reset/\S+/)", message.body)[1]


@pytest.fixture
def ask_reset(eager_celery, django_capture_on_commit_callbacks):
    """Post the reset form; the e-mail task it queued after the commit runs at once, as a worker
    would a moment later."""

    def ask(client, email, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/password-reset/", {"email": email}, **extra)

    return ask


def test_a_reset_e_mail_goes_to_a_known_address_and_its_link_sets_a_new_password(client, ask_reset):
    teacher = make_user("teacher", first_name="Tess", last_name="Teacher", email="tess@school.example")

    response = ask_reset(client, "TESS@school.example")

    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    (message,) = mail.outbox
    assert message.to == ["tess@school.example"]
    assert message.subject == "Roll Call: set a new password"
    assert "Hello Tess Teacher" in message.body and '"teacher"' in message.body
    assert "open this link within 3 hours:" in message.body
    form_page = client.get(reset_link(message), follow=True)
    assert "Set a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "a-long-new-pass-42", "new_password2": "a-long-new-pass-42"}
    )
    assert done["Location"] == "/reset/done/"
    teacher.refresh_from_db()
    assert teacher.check_password("a-long-new-pass-42")
    # The link works once.
    assert "This link does not work" in client.get(reset_link(message), follow=True).content.decode()


def without_csrf_token(content):
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b'name="csrfmiddlewaretoken"', content)


def test_the_reset_answer_does_not_say_whether_an_address_has_a_login(client):
    make_user("teacher", email="tess@school.example")
    known = client.post("/password-reset/", {"email": "tess@school.example"}, follow=True)
    unknown = client.post("/password-reset/", {"email": "nobody@school.example"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain == [("/password-reset/sent/", 302)]
    # The same page but for the CSRF token of the language chooser, which differs on every response.
    assert without_csrf_token(known.content) == without_csrf_token(unknown.content)
    assert "It works for 3 hours." in known.content.decode()


@override_settings(PASSWORD_RESET_RATE_LIMIT=3)
def test_reset_requests_are_limited_per_e_mail_address(client, ask_reset):
    make_user("teacher", email="tess@school.example")
    for n in range(3):
        # From different addresses: the limit per e-mail holds whoever asks.
        assert ask_reset(client, "tess@school.example", REMOTE_ADDR=f"10.0.0.{n}").status_code == 302
    response = ask_reset(client, "Tess@School.example", REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429
    assert "Too many password reset requests" in response.content.decode()
    assert len(mail.outbox) == 3


@override_settings(PASSWORD_RESET_RATE_LIMIT=3)
def test_reset_requests_are_limited_per_address_across_e_mails(client, ask_reset):
    make_user("teacher", email="tess@school.example")
    for n in range(3):
        ask_reset(client, f"guess{n}@school.example")
    assert ask_reset(client, "tess@school.example").status_code == 429
    assert mail.outbox == []


def test_the_login_page_links_to_the_reset(client):
    assert 'href="/password-reset/"' in client.get("/login/").content.decode()


# --- names and the student's home ------------------------------------------------------------


def test_people_are_greeted_by_their_name_and_by_their_user_name_only_without_one(client):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    nameless = make_user("sheldon", role="Teacher")
    make_course("MATH1", teacher=teacher)
    client.force_login(teacher)
    page = client.get("/").content.decode()
    assert "Hello, Tess Teacher" in page and "<span>Tess Teacher</span>" in page
    client.force_login(nameless)
    assert "Hello, sheldon" in client.get("/").content.decode()


def test_a_students_home_is_their_attendance_under_their_name(client):
    ada_user = make_user("ada", role="Student")
    make_student("S1", "Ada Lovelace", user=ada_user)
    client.force_login(ada_user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/me/attendance/"
    assert "<span>Ada Lovelace</span>" in client.get("/me/attendance/").content.decode()


def test_a_teacher_who_is_also_a_student_keeps_the_teachers_home(client):
    teacher = make_user("tutor", role="Teacher")
    make_student("S7", "Tim Tutor", user=teacher)
    make_course("MATH1", teacher=teacher)
    client.force_login(teacher)
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello, Tim Tutor" in response.content.decode()


def test_a_provider_added_in_the_admins_database_is_ignored(client, settings):
    from allauth.socialaccount.models import SocialApp

    SocialApp.objects.create(
        provider="openid_connect",
        provider_id="elsewhere",
        name="Elsewhere",
        client_id="x",
        secret="y",
        settings={"server_url": "http://127.0.0.1:9"},
    )
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert client.get("/accounts/oidc/elsewhere/login/").status_code == 404
