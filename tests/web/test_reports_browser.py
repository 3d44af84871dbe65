"""The charts and the "today" page in a real Chromium, at 1280 and 390 px: drawn (a chart on
every canvas, ink on it), with no Content-Security-Policy violation, nothing wider than a phone,
and no serious or critical axe-core violation."""

from datetime import timedelta

from django.utils import timezone

from students.models import AttendanceRecord
from tests.factories import make_course, make_session, make_student, make_user
from tests.web.axe import violations
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, watched

pytestmark = BROWSER_TESTS

# Each chart: whether Chart.js holds a chart for its canvas, its width, and how many pixels are inked.
CHARTS_DRAWN = """[...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let alpha = 3; alpha < pixels.length; alpha += 4) if (pixels[alpha]) inked++;
  return {chart: canvas.dataset.chart, drawn: Chart.getChart(canvas) !== undefined, width: canvas.width, inked};
})"""

# Each student's statuses over the eight sessions held, by their number: most come, some late or
# excused; Dorothy is often away (chronically absent), Hedy missed the last four in a row.
TERM = {
    1: "PPLAPEAP",
    2: "PPPAPPLP",
    3: "LPPPPPPP",
    4: "APAPAAPA",
    5: "PPPPEPLP",
    6: "PLPPPPPP",
    7: "PPPPPPAP",
    8: "PPPPAAAA",
}
STATUS = {"P": "present", "L": "late", "A": "absent", "E": "excused"}


def a_term(teacher):
    """A course of eight students over four weeks (TERM); Ada has a login. Today: a session on now,
    taken, and one to come in another course, not taken."""
    names = ["Ada Lovelace", "Bùi Thị Xuân", "Charles Babbage", "Dorothy Vaughan", "Evariste Galois"]
    names += ["Nguyễn Văn An", "Grace Hopper", "Hedy Lamarr"]
    students = [make_student(f"S{n}", name) for n, name in enumerate(names, start=1)]
    students[0].user = make_user("ada", role="Student")
    students[0].save()
    course = make_course("PHYS1", teacher=teacher, students=students)
    now = timezone.now()
    days_ago = (26, 22, 19, 15, 12, 8, 5, 1)
    sessions = [make_session(course, starts_at=now - timedelta(days=days, hours=2)) for days in days_ago]
    for number, student in enumerate(students, start=1):
        for session, letter in zip(sessions, TERM[number], strict=True):
            AttendanceRecord.objects.create(session=session, student=student, status=STATUS[letter], source="manual")
    taken = make_session(course, starts_at=now - timedelta(minutes=10))
    AttendanceRecord.objects.create(
        session=taken, student=students[0], status="present", source="photo", first_seen_at=now
    )
    make_session(make_course("CHEM2", teacher=teacher, students=students[:3]), starts_at=now + timedelta(minutes=70))
    return course


def check_page(page, url, what, shots, name, charts):
    page.goto(url)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        # Chart.js redraws on the resize it observes; a frame or two later the canvas is the new size.
        page.wait_for_timeout(300)
        assert_no_violation(page, f"{what} at {width} px")
        drawn = page.evaluate(CHARTS_DRAWN)
        assert [chart["chart"] for chart in drawn] == charts, what
        for chart in drawn:
            assert chart["drawn"] and chart["width"] > 0 and chart["inked"] > 2000, (what, width, chart)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{what} is wider than {width} px"
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        assert violations(page) == [], f"{what} at {width} px"


def test_the_charts_and_the_today_page_draw_within_the_policy_at_both_widths(open_browser, live_server, tmp_path):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    course = a_term(teacher)
    shots = screenshots_dir(tmp_path)

    page = watched(open_browser())
    log_in(page, live_server, "teacher")
    check_page(
        page, f"{live_server.url}/courses/{course.pk}/", "course", shots, "course", ["course-weeks", "course-students"]
    )

    page = watched(open_browser())
    log_in(page, live_server, "ada", lands_on="/me/attendance/")
    check_page(page, f"{live_server.url}/me/attendance/", "my attendance", shots, "student", [f"trend-{course.pk}"])
    assert page.locator(".session-strip li").count() == 8

    page = watched(open_browser())
    log_in(page, live_server, "boss")
    page.get_by_role("link", name="Today at school").click()
    check_page(page, page.url, "today", shots, "today", [])
    assert page.get_by_text("Not taken yet").count() == 1 and page.get_by_text("On now").count() == 1
    assert page.locator("#streaks + p + .table-scroll").get_by_text("Hedy Lamarr").count() == 1
