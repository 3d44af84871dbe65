from django.urls import path

from . import report_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("courses/<int:pk>/timetable/", views.course_timetable, name="course_timetable"),
    path("courses/<int:pk>/attendance.csv", views.course_csv, name="course_csv"),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/parts/", views.session_parts, name="session_parts"),
    path("sessions/<int:pk>/students/<int:student_pk>/status/", views.session_set_status, name="session_set_status"),
    path(
        "sessions/<int:pk>/students/<int:student_pk>/not-seen/",
        views.session_clear_status,
        name="session_clear_status",
    ),
    path("sessions/<int:pk>/close/", views.session_close, name="session_close"),
    path("sessions/<int:pk>/reopen/", views.session_reopen, name="session_reopen"),
    path("sessions/<int:pk>/not-seen-absent/", views.session_mark_not_seen_absent, name="session_mark_not_seen_absent"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:pk>/cancelled/", views.session_set_cancelled, name="session_set_cancelled"),
    path("me/attendance/", views.my_attendance, name="my_attendance"),
    path("today/", report_views.today, name="today"),
    # Public: for families, who have no login.
    path("privacy/", views.privacy, name="privacy"),
]
