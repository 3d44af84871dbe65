from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from access.roles import student_of

from . import vocabulary
from .access_log import log_access
from .attendance import (
    clear_status,
    close_session,
    closed_sentence,
    mark_not_seen_absent,
    reopen_session,
    set_status,
)
from .csv_files import csv_download
from .forms import AttendanceRangeForm, ClassSessionForm, SessionSeriesForm, StatusForm
from .models import AccessLogEntry, AttendanceRecord
from .notices import dpo_contact, school_name
from .overview import (
    PERCENTAGE_RULE,
    attendance_rows,
    course_summaries,
    held_sessions,
    not_taken_sessions,
    roster,
    upcoming_sessions,
)
from .permissions import courses_managed_by, enrolled_student, managed_course, managed_session, sessions_managed_by
from .session_photos import session_photos
from .times import session_time
from .timetable import TimetableError, create_series_sessions, set_cancelled


@login_required
def home(request):
    courses = courses_managed_by(request.user)
    student = student_of(request.user)
    if student and not courses.exists():
        # A student's home is their attendance: nothing else on the site is theirs.
        return redirect("my_attendance")
    today = timezone.localdate()
    return render(
        request,
        "home.html",
        {
            "courses": courses,
            "todays_sessions": (
                sessions_managed_by(request.user)
                .not_cancelled()
                .filter(starts_at__date=today)
                .select_related("course", "room")
            ),
            "student": student,
        },
    )


@login_required
def course_detail(request, pk):
    course = managed_course(request, pk)
    form = ClassSessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.course = course
        session = form.save()
        messages.success(request, _("Session %(session)s created.") % {"session": session})
        return redirect("session_detail", session.pk)
    return course_page(request, course, form=form)


@login_required
@require_POST
def course_timetable(request, pk):
    course = managed_course(request, pk)
    series_form = timetable_form(request.POST)
    if not series_form.is_valid():
        return course_page(request, course, series_form=series_form)
    series_form.instance.course = course
    try:
        with transaction.atomic():
            series = series_form.save()
            made = create_series_sessions(series)
    except TimetableError as error:
        # A session taken in the room since the form was checked: nothing was saved.
        series_form.add_error(error.field, str(error))
        return course_page(request, course, series_form=series_form)
    messages.success(
        request,
        ngettext("%(count)d session created: %(series)s.", "%(count)d sessions created: %(series)s.", made)
        % {"count": made, "series": series},
    )
    return redirect(reverse("course_detail", args=[course.pk]) + "#sessions")


def timetable_form(data=None):
    # Ids of its own: the single-session form on the same page has a room field too.
    return SessionSeriesForm(data, auto_id="timetable_%s")


def sessions_chosen(request, course):
    """(the filter form, the sessions that count in the dates it chose)."""
    range_form = AttendanceRangeForm(course, request.GET or None, auto_id="range_%s")
    first_day, last_day = range_form.date_range()
    return range_form, list(held_sessions(course, first_day=first_day, last_day=last_day))


def course_page(request, course, form=None, series_form=None):
    range_form, sessions = sessions_chosen(request, course)
    rows = attendance_rows(sessions, course.students.active())
    form, series_form = form or ClassSessionForm(), series_form or timetable_form()
    return render(
        request,
        "students/course_detail.html",
        {
            "course": course,
            "form": form,
            "series_form": series_form,
            # Folded away unless a form has something to say, or the course has no session yet.
            "creating": form.is_bound or series_form.is_bound or not course.sessions.exists(),
            "timetable": course.session_series.all(),
            "range_form": range_form,
            "sessions": sessions,
            "upcoming": upcoming_sessions(course),
            "not_taken": list(not_taken_sessions(course)),
            "not_taken_word": vocabulary.session_word(vocabulary.NOT_TAKEN),
            "rows": rows,
            "below_threshold": [row for row in rows if row.below_threshold],
            "percentage_rule": PERCENTAGE_RULE,
            "threshold": settings.ATTENDANCE_THRESHOLD_PERCENT,
            "query": request.GET.urlencode(),
        },
    )


@login_required
def course_csv(request, pk):
    """The course page's grid (with its filter) as CSV, each cell in the site's words."""
    course = managed_course(request, pk)
    _chosen, sessions = sessions_chosen(request, course)
    header = (
        [_("student number"), _("student")]
        + [session_time(session, "stamp") for session in sessions]
        + [_("attendance %")]
    )
    rows = (
        [row.student.student_number, row.student.full_name]
        + [str(cell.word) for cell in row.cells]
        + ["" if row.percentage is None else row.percentage]
        for row in attendance_rows(sessions, course.students.active())
    )
    log_access(AccessLogEntry.EXPORT, f"Attendance CSV of {course.code}", request=request)
    return csv_download(f"attendance-{course.code}.csv", header, rows)


def messages_by_place(request):
    """The pending messages, split: one whose extra_tags name a place on the session page (a
    roster row "student-<id>", "finish", "captures") is shown there, where the teacher acted;
    the rest at the top. Reading them marks them all shown."""
    top, placed = [], {}
    for message in messages.get_messages(request):
        if message.extra_tags:
            placed.setdefault(message.extra_tags, []).append(message)
        else:
            top.append(message)
    return top, placed


def roster_part(session, placed):
    """What the roster part of the session page draws; placed: the messages shown on its rows."""
    rows = [(student, record, placed.get(f"student-{student.pk}", [])) for student, record in roster(session)]
    return {
        "roster": rows,
        "not_seen": sum(1 for _, record, _ in rows if record is None),
        "status_choices": AttendanceRecord.STATUS_CHOICES,
    }


def captures_part(session, opened):
    """What the captures part of the session page draws: the photos, as the app that keeps them
    says (students/session_photos.py; its "Who is this?" asks for its own), and the students a
    face may be assigned to. opened: the ids of the earlier photos drawn in full, not as a line."""
    return {**session_photos().page_context(session, opened), "students": session.members()}


@login_required
def session_detail(request, pk):
    session = managed_session(request, pk)
    top, placed = messages_by_place(request)
    return render(
        request,
        "students/session_detail.html",
        {
            "session": session,
            # Overrides the context processor's: the placed messages are not repeated at the top.
            "messages": top,
            "finish_messages": placed.get("finish", []),
            "captures_messages": placed.get("captures", []),
            **captures_part(session, photo_ids(request, "photo")),
            **roster_part(session, placed),
            "events": session.events.select_related("by"),
            "closed_sentence": closed_sentence(session) if session.closed_at else "",
        },
    )


def photo_ids(request, name):
    return {int(value) for value in request.GET.getlist(name) if value.isdigit()}


@login_required
def session_parts(request, pk):
    """Parts of the session page as the page draws them, for its script to replace what changed
    rather than load the whole page again: `part=roster` (the roster, and `not_seen`, the Finish
    card's count), `part=people` ("Who is this?"), `part=captures` (the list of photos), and
    `capture=<id>` (that photo's card; repeatable), `open=<id>` (an earlier photo drawn in full
    in those; repeatable). JSON: the HTML of each part asked for."""
    session = managed_session(request, pk)
    parts = set(request.GET.getlist("part"))
    asked = photo_ids(request, "capture")
    context = {"session": session}
    answer = {}
    if "roster" in parts:
        context.update(roster_part(session, {}))
        answer["roster"] = render_to_string("students/_roster.html", context, request)
        answer["not_seen"] = render_to_string("students/_not_seen.html", context, request)
    if parts & {"people", "captures"} or asked:
        context.update(captures_part(session, photo_ids(request, "open")))
    if "people" in parts:
        answer["people"] = render_to_string("students/_people.html", context, request)
    if "captures" in parts:
        answer["captures"] = render_to_string("students/_capture_list.html", context, request)
    cards = [(capture, position == 0) for position, capture in enumerate(context.get("captures", []))]
    answer["capture"] = {
        capture.pk: render_to_string(
            "students/_capture_part.html", {**context, "capture": capture, "latest": latest}, request
        )
        for capture, latest in cards
        if capture.pk in asked
    }
    return JsonResponse(answer)


def back_to(session, place):
    return redirect(reverse("session_detail", args=[session.pk]) + f"#{place}")


@login_required
@require_POST
def session_set_status(request, pk, student_pk):
    session = managed_session(request, pk)
    student = enrolled_student(session.course, student_pk)
    form = StatusForm(request.POST)
    row = f"student-{student.pk}"
    if not form.is_valid():
        messages.error(request, _("Not saved: choose present, late, absent or excused."), extra_tags=row)
    else:
        record = set_status(session, student, form.cleaned_data["status"], request.user, form.cleaned_data["reason"])
        messages.success(
            request,
            _("Saved: %(name)s is %(status)s.")
            % {"name": student.full_name, "status": record.get_status_display().lower()},
            extra_tags=row,
        )
    return back_to(session, row)


@login_required
@require_POST
def session_clear_status(request, pk, student_pk):
    """The roster's "Not seen yet": the student back to not seen (attendance.clear_status)."""
    session = managed_session(request, pk)
    student = enrolled_student(session.course, student_pk)
    record = clear_status(session, student, request.user, request.POST.get("reason", "")[:300])
    if record is None:
        said = _("Saved: %(name)s is not seen yet.") % {"name": student.full_name}
    else:
        said = _("Saved: %(name)s is absent, not seen before the session was closed.") % {"name": student.full_name}
    row = f"student-{student.pk}"
    messages.success(request, said, extra_tags=row)
    return back_to(session, row)


@login_required
@require_POST
def session_close(request, pk):
    session = managed_session(request, pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Not closed: tick “Yes, close it” first."), extra_tags="finish")
        return back_to(session, "finish")
    marked = close_session(session, request.user)
    waiting = session_photos().being_recognised(session)
    closed = ngettext(
        "Session closed; %(count)d student not seen was marked absent.",
        "Session closed; %(count)d students not seen were marked absent.",
        marked,
    ) % {"count": marked}
    still = ngettext(
        "%(count)d photo is still being recognised: whoever it shows will still be marked as seen.",
        "%(count)d photos are still being recognised: whoever they show will still be marked as seen.",
        waiting,
    ) % {"count": waiting}
    messages.success(request, f"{closed} {still}" if waiting else closed, extra_tags="finish")
    return back_to(session, "finish")


@login_required
@require_POST
def session_reopen(request, pk):
    session = managed_session(request, pk)
    removed = reopen_session(session, request.user)
    if removed is None:
        messages.error(request, _("This session is not closed."), extra_tags="finish")
    else:
        messages.success(
            request,
            ngettext(
                "Session reopened: it takes photos again; %(count)d absence written by the close was removed.",
                "Session reopened: it takes photos again; %(count)d absences written by the close were removed.",
                len(removed),
            )
            % {"count": len(removed)},
            extra_tags="finish",
        )
    return back_to(session, "finish")


@login_required
@require_POST
def session_mark_not_seen_absent(request, pk):
    session = managed_session(request, pk)
    marked = mark_not_seen_absent(session, request.user)
    messages.success(
        request,
        ngettext(
            "%(count)d student not seen yet was marked absent. The session stays open: a photo taken before "
            "the close still marks them present or late.",
            "%(count)d students not seen yet were marked absent. The session stays open: a photo taken before "
            "the close still marks them present or late.",
            marked,
        )
        % {"count": marked},
        extra_tags="finish",
    )
    return back_to(session, "finish")


@login_required
def session_edit(request, pk):
    """Change one session (a timetable's occurrence moved or in another room), or cancel it."""
    session = managed_session(request, pk)
    form = ClassSessionForm(request.POST or None, instance=session)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Session %(session)s saved.") % {"session": session})
        return redirect(reverse("course_detail", args=[session.course_id]) + "#sessions")
    return render(request, "students/session_edit.html", {"session": session, "form": form})


@login_required
@require_POST
def session_set_cancelled(request, pk):
    session = managed_session(request, pk)
    cancelled = request.POST.get("cancelled") == "1"
    try:
        set_cancelled(session, cancelled)
    except ValidationError as refused:
        messages.error(
            request,
            _("Session %(session)s was not restored: %(why)s")
            % {"session": session, "why": " ".join(refused.messages)},
        )
    else:
        done = (
            _("Session %(session)s cancelled: it counts nowhere.") if cancelled else _("Session %(session)s restored.")
        )
        messages.success(request, done % {"session": session})
    return redirect(reverse("course_detail", args=[session.course_id]) + "#sessions")


@login_required
def my_attendance(request):
    student = student_of(request.user)
    if student is None:
        raise Http404(_("This login is not linked to a student."))
    return render(
        request,
        "students/my_attendance.html",
        {
            "student": student,
            "summaries": course_summaries(student),
            "percentage_rule": PERCENTAGE_RULE,
            "threshold": settings.ATTENDANCE_THRESHOLD_PERCENT,
        },
    )


def privacy(request):
    """What Roll Call does with students' faces, for families: filled from the settings, so that
    it says what this installation does."""
    return render(
        request,
        "privacy.html",
        {
            "school": school_name(),
            "contact": dpo_contact(),
            "capture_days": settings.CAPTURE_RETENTION_DAYS,
            "unknown_face_hours": settings.UNKNOWN_FACE_HOURS,
        },
    )
