"""In a real Chromium, at 1280 px and on a 390 px phone, with a class-size photo (26 faces,
group/ultralight_11.jpg, none of them a student of the course): the session page keeps itself
current by fetching only the parts of the page a capture changed, never the page itself, and a
second photo of the same class asks nothing about the person the teacher said is not one of
their students in the first. Screenshots go to ROLLCALL_SCREENSHOTS (a temporary folder by
default)."""

import io
from datetime import timedelta

from django.utils import timezone
from PIL import Image

from recognition.models import Capture, DetectedFace
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.school import BBT
from tests.web.test_corrections_browser import check_layout
from tests.web.test_csp_browser import screenshots_dir, watched

pytestmark = BROWSER_TESTS

CLASS_PHOTO = "group/ultralight_11.jpg"


def degraded_copy(source, target, scale=0.85, quality=80):
    """The class again, a moment later to the camera: a little smaller, saved again as a JPEG."""
    image = Image.open(source).convert("RGB")
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    target.write_bytes(buffer.getvalue())
    return target


def test_the_page_fetches_only_what_changed_and_a_second_photo_asks_nothing_already_answered(
    open_browser, live_server, faces_dataset, eager_celery, tmp_path
):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    enrol_identities(faces_dataset, BBT, course, photos_each=2)
    session = make_session(course, starts_at=timezone.now() - timedelta(minutes=5))
    shots = screenshots_dir(tmp_path)
    page = watched(open_browser())
    log_in(page, live_server, "teacher")
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    fetched = []
    page.on("request", lambda request: fetched.append(request.url.removeprefix(live_server.url)))

    page.locator("#photo-input").set_input_files(str(faces_dataset / CLASS_PHOTO))
    page.locator('#capture-list [data-status="done"] svg polygon').first.wait_for()
    first = Capture.objects.get(session=session)
    asking = DetectedFace.objects.filter(capture=first).count()
    assert asking >= 25
    page.locator("#who-is-this .person").nth(asking - 1).wait_for()
    assert page.locator("#who-is-this .person").count() == asking
    # The page itself was never fetched again: only the parts the capture changed.
    assert f"/sessions/{session.pk}/" not in fetched
    assert any(url.startswith(f"/sessions/{session.pk}/parts/?") and "part=people" in url for url in fetched)
    # 26 faces: their numbers on the photo overlap at both widths (a limit of the drawing, not
    # of this page's parts; reported in the session notes), so only the rest is checked.
    check_layout(page, shots, "class-photo", numbers=False)

    # The first person is not one of the teacher's students (a plain form: the page reloads).
    page.locator("#who-is-this .person").first.get_by_role("button", name="Not one of my students").click()
    page.locator(".messages").get_by_text("It no longer asks who it is").wait_for()
    assert page.locator("#who-is-this .person").count() == asking - 1
    dismissed = DetectedFace.objects.get(capture=first, dismissed=True)

    fetched.clear()
    page.locator("#photo-input").set_input_files(str(degraded_copy(faces_dataset / CLASS_PHOTO, tmp_path / "b.jpg")))
    page.locator(f'#capture-list details[data-capture-id="{first.pk}"]').wait_for()  # now an earlier photo
    second = Capture.objects.filter(session=session).latest("created_at")
    assert second != first
    page.locator(f'#capture-list article[data-capture-id="{second.pk}"][data-status="done"]').wait_for()
    page.locator(".capture.latest").get_by_text("Not one of the course's students").wait_for()
    assert f"/sessions/{session.pk}/" not in fetched
    # The person said not to be a student is dismissed in the second photo too, and asks nothing;
    # the others are the same people as in the first photo: no new question.
    again = DetectedFace.objects.get(capture=second, person=dismissed.person)
    assert again.dismissed
    assert page.locator("#who-is-this .person").count() == asking - 1
    assert page.locator("#who-is-this .person-seen", has_text="In 2 photos").count() >= asking - 3
    check_layout(page, shots, "class-photo-again", numbers=False)
