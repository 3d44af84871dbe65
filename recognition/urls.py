from django.urls import path

from . import views

urlpatterns = [
    path("files/enrolment/<int:pk>/", views.face_photo_image, name="face_photo_image"),
    path("files/captures/<int:pk>/", views.capture_image, name="capture_image"),
    path("files/faces/<int:pk>/", views.face_crop_image, name="face_crop_image"),
    path("captures/<int:pk>/retry/", views.capture_retry, name="capture_retry"),
    path("captures/<int:pk>/remove/", views.capture_remove, name="capture_remove"),
    path("faces/<int:pk>/assign/", views.assign_face_view, name="assign_face"),
    path("faces/<int:pk>/confirm/", views.confirm_face_view, name="confirm_face"),
    path("faces/<int:pk>/reject/", views.reject_face_view, name="reject_face"),
    path("faces/<int:pk>/dismiss/", views.dismiss_face_view, name="dismiss_face"),
    path("students/<int:pk>/enrol/", views.enrol_by_camera, name="enrol_by_camera"),
    path("students/<int:pk>/enrol/check/", views.enrol_check, name="enrol_check"),
    path("students/<int:pk>/photos/", views.student_photos, name="student_photos"),
    path("students/<int:pk>/photos/statuses/", views.enrolment_photo_statuses, name="enrolment_photo_statuses"),
    path("enrolment-photos/<int:pk>/withdraw/", views.withdraw_photo, name="withdraw_photo"),
    path("students/<int:pk>/enrol/shots/<int:photo_pk>/", views.enrol_shot, name="enrol_shot"),
]
