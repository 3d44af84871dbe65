"""The school admins' "today" page at a school's scale: it counts every course's attendance on
each request (students/reports.py: school_history), so its cost grows with the school.

    .venv/bin/python bench/school_day.py [--courses 40] [--students 30] [--sessions 60]
        [--database rollcall_bench_school_day | --sqlite] [--repeats 5]

Builds, in a database of its own (PostgreSQL, dropped and created again; or a temporary SQLite
file), --courses courses of --students students each (every student in 4 courses, so the school
has courses x students / 4 students), each course with --sessions held sessions and a record per
student and session (9 in 10 present, the rest late, absent or excused), and 6 sessions today.
Timed (median of --repeats after a warm-up, DEBUG off, through Django's test client):
GET /today/ as a school admin; reference in the same run: GET /courses/<id>/ of one course (the
grid and its charts) and the course pages' own counting (overview.attendance_rows over
held_sessions) for every course, which the today page repeats and adds its lists to.
The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.session_scale import median_ms, set_up_django  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--courses", type=int, default=40)
    parser.add_argument("--students", type=int, default=30, help="students per course")
    parser.add_argument("--sessions", type=int, default=60, help="held sessions per course")
    parser.add_argument("--database", default="rollcall_bench_school_day", help="PostgreSQL database (dropped)")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args(argv)


def build_school(args):
    from django.contrib.auth.models import User
    from django.utils import timezone

    from students.models import AttendanceRecord, ClassSession, Course, Student

    rng = random.Random(0)
    admin = User.objects.create_superuser("boss")
    students = Student.objects.bulk_create(
        Student(student_number=f"S{n:05}", full_name=f"Student {n}") for n in range(args.courses * args.students // 4)
    )
    now = timezone.now()
    statuses = ["present"] * 18 + ["late", "absent"]
    for number in range(args.courses):
        course = Course.objects.create(code=f"C{number:03}", name=f"Course {number}")
        roster = rng.sample(students, args.students)
        course.students.add(*roster)
        starts = [now - timedelta(days=1 + day, hours=number % 8) for day in range(args.sessions)]
        if number < 6:
            starts.append(now - timedelta(minutes=10))
        sessions = ClassSession.objects.bulk_create(
            ClassSession(course=course, starts_at=start, ends_at=start + timedelta(hours=1)) for start in starts
        )
        AttendanceRecord.objects.bulk_create(
            AttendanceRecord(session=session, student=student, status=rng.choice(statuses), source="manual")
            for session in sessions[: args.sessions]
            for student in roster
        )
    return admin, Course.objects.order_by("code").first()


def main(argv=None):
    args = parse_args(argv)
    set_up_django(args)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from students.models import Course
    from students.overview import attendance_rows, held_sessions

    admin, course = build_school(args)
    client = Client()
    client.force_login(admin)

    def get(url):
        def call():
            response = client.get(url, secure=True)
            assert response.status_code == 200, (url, response.status_code)

        return call

    def every_course_counted():
        for each in Course.objects.all():
            attendance_rows(held_sessions(each), list(each.students.active()))

    with CaptureQueriesContext(connection) as queries:
        get("/today/")()
    figures = {
        "database": "sqlite" if args.sqlite else "postgresql",
        "courses": args.courses,
        "students_per_course": args.students,
        "held_sessions_per_course": args.sessions,
        "records": args.courses * args.students * args.sessions,
        "today_queries": len(queries),
        "today_ms": median_ms(get("/today/"), args.repeats),
        "course_page_ms": median_ms(get(f"/courses/{course.pk}/"), args.repeats),
        "every_course_counted_ms": median_ms(every_course_counted, args.repeats),
        "today_cpu_ms": median_ms(get("/today/"), args.repeats, time.process_time),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
