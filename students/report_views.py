"""The school admins' "today" page: the day's sessions and the students to look after."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from access.roles import require_school_admin

from .reports import absent_in_a_row, chronically_absent, school_history, todays_sessions


@login_required
def today(request):
    require_school_admin(request.user, _("Only a school admin sees the whole school's day."))
    history = school_history()
    return render(
        request,
        "students/today.html",
        {
            "sessions": todays_sessions(),
            "streaks": absent_in_a_row(history),
            "chronic": chronically_absent(history),
            "streak_length": settings.ABSENCE_STREAK,
            "chronic_below": settings.CHRONIC_ABSENCE_BELOW,
        },
    )
