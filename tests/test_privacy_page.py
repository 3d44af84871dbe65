"""The privacy page for families (issue 20): public, linked from every page's footer, and saying
what this installation does, from its settings."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_privacy_page_is_public_and_says_this_schools_contact_and_retention(client, settings):
    settings.SCHOOL_NAME = "Hill Top School"
    settings.DPO_CONTACT = "Jo Bloggs, dpo@hilltop.example"
    settings.CAPTURE_RETENTION_DAYS = 5
    settings.UNKNOWN_FACE_HOURS = 12.0

    page = client.get(reverse("privacy"))

    assert page.status_code == 200
    text = page.content.decode()
    said = ["Roll Call takes attendance at Hill Top School", "Jo Bloggs, dpo@hilltop.example", ": 5 days."]
    assert all(words in text for words in [*said, "at the latest 12 hours"]), text
    assert "How to withdraw consent" in text


def test_every_page_links_to_it_in_its_footer(client):
    login_page = client.get(reverse("login")).content.decode()
    assert f'<footer class="site-footer">\n    <a href="{reverse("privacy")}">' in login_page
