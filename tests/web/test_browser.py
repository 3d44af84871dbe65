"""In a real Chromium: a teacher uploads a class photo and watches the boxes, names and roster
appear without reloading; a student reads their history."""

from datetime import timedelta

from django.utils import timezone

from students.models import AttendanceRecord
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import enrol_identities
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.school import BBT, BBT_GROUP_PHOTO

pytestmark = BROWSER_TESTS


def test_a_teacher_uploads_a_class_photo_and_sees_boxes_names_and_the_roster(
    page, live_server, faces_dataset, eager_celery, tmp_path
):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    cast = enrol_identities(faces_dataset, BBT, course, photos_each=2)
    session = make_session(course)

    log_in(page, live_server, "teacher")
    page.screenshot(path=str(tmp_path / "home.png"))
    # Today's sessions come first on the home page.
    page.locator(f'a[href="/sessions/{session.pk}/"]').first.click()
    assert page.locator("#roster").get_by_text("Not seen yet").count() == len(cast)

    page.locator("#photo-input").set_input_files(str(faces_dataset / BBT_GROUP_PHOTO))
    page.locator('[data-status="done"] svg polygon').first.wait_for()

    seen = set(AttendanceRecord.objects.filter(session=session).values_list("student__full_name", flat=True))
    assert seen == {"BBT Sheldon", "BBT Bernadette"}  # Raj (0.315) is only a suggestion
    labels = page.locator(".capture.latest .faces .label").all_text_contents()
    assert len(labels) == page.locator("svg polygon.box").count() >= 5
    assert seen <= set(labels)
    roster = page.locator("#roster")
    # How each was decided, under the name (the history under it says it again).
    roster.locator(".roster-how", has_text="Recognised in a class photo").first.wait_for()
    assert roster.locator(".roster-how", has_text="Recognised in a class photo").count() == len(seen)
    page.screenshot(path=str(tmp_path / "session.png"), full_page=True)

    # Correct one student by hand: the status and the reason stay in the roster.
    unseen = sorted(set(cast) - seen) or sorted(seen)
    row = roster.locator("tr", has_text=unseen[0])
    row.get_by_label(f"Reason for {unseen[0]}").fill("Dentist")
    row.get_by_role("button", name="Excused").click()
    page.locator("#roster tr", has_text=unseen[0]).get_by_text("Set by Tess Teacher: “Dentist”").wait_for()
    assert AttendanceRecord.objects.get(session=session, student=cast[unseen[0]]).status == "excused"


def test_a_student_sees_their_history(page, live_server, tmp_path):
    user = make_user("ada", role="Student")
    ada = make_student("S1", "Ada Lovelace", user=user)
    course = make_course("MATH1", students=[ada])
    past = timezone.now() - timedelta(days=2)
    sessions = [make_session(course, starts_at=past + timedelta(days=day)) for day in (0, 1)]
    AttendanceRecord.objects.create(
        session=sessions[0], student=ada, status="present", source="photo", first_seen_at=sessions[0].starts_at
    )
    AttendanceRecord.objects.create(session=sessions[1], student=ada, status="absent", source="manual")

    log_in(page, live_server, "ada", lands_on="/me/attendance/")
    page.get_by_role("link", name="My attendance").first.click()
    section = page.get_by_role("region", name="MATH1")
    # The heading's percentage; the chart's table below repeats the week's (hidden until opened).
    section.get_by_role("heading").get_by_text("50.0%").wait_for()
    rows = section.locator("table").first.locator("tbody tr").all_inner_texts()
    assert len(rows) == 2 and "Absent" in rows[0] and "Present" in rows[1]
    page.screenshot(path=str(tmp_path / "student.png"), full_page=True)
