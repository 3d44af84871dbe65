from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated

from access.languages import choose_language
from recognition import api as recognition_api
from students import api as students_api
from students.login import RateLimitedLoginView, RateLimitedPasswordResetView, ResetLinkSentView
from students.passwords import invitation_tokens

api_urlpatterns = [
    path("courses/", students_api.course_list, name="api_courses"),
    path("courses/<int:pk>/sessions/", students_api.course_sessions, name="api_course_sessions"),
    path("sessions/<int:pk>/captures/", recognition_api.session_captures, name="api_session_captures"),
    path("sessions/<int:pk>/attendance/", students_api.session_attendance, name="api_session_attendance"),
    path(
        "sessions/<int:pk>/attendance/<int:student_pk>/",
        students_api.session_attendance_record,
        name="api_attendance_record",
    ),
    path("captures/<int:pk>/", recognition_api.capture_detail, name="api_capture"),
    path("sessions/<int:pk>/unknown-people/", recognition_api.session_unknown_people, name="api_unknown_people"),
    path("faces/<int:pk>/confirm/", recognition_api.face_confirm, name="api_face_confirm"),
    path("faces/<int:pk>/reject/", recognition_api.face_reject, name="api_face_reject"),
    path("faces/<int:pk>/assign/", recognition_api.face_assign, name="api_face_assign"),
    path("faces/<int:pk>/dismiss/", recognition_api.face_dismiss, name="api_face_dismiss"),
    # A classroom camera's snapshots without a session id: the session on now in its room.
    path("captures/", recognition_api.device_captures, name="api_device_captures"),
    path("me/attendance/", students_api.my_attendance, name="api_my_attendance"),
    # The schema needs a person's login, as its readable page /api/docs/ does.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api_schema"),
    path("docs/", students_api.api_docs, name="api_docs"),
]

# Forgotten passwords (Django's own views, the request form rate-limited), and sign-in with the
# school's Google or Microsoft account: only allauth's OpenID Connect routes, which answer 404
# for a provider the settings do not configure. allauth's login, signup and reset pages are not
# routed: passwords go through /login/ and the views below.
signin_urlpatterns = [
    path("password-reset/", RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", ResetLinkSentView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "invitation/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(token_generator=invitation_tokens),
        name="invitation_confirm",
    ),
    path("accounts/", include("allauth.socialaccount.providers.openid_connect.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("language/", choose_language, name="set_language"),
    # The words the pages' scripts say, in the page's language (locale/*/LC_MESSAGES/djangojs.po).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # Browsers ask for it whatever the page says (the admin's pages say nothing).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("login/", RateLimitedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include(api_urlpatterns)),
    path("", include(signin_urlpatterns)),
    path("", include("students.urls")),
    path("", include("recognition.urls")),
]
