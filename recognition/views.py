from csp.constants import NONE
from csp.decorators import csp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from students.access_log import log_access
from students.models import AccessLogEntry
from students.permissions import enrollable_student, enrolled_student, in_reach, taught_student

from .captures import retry_capture, upload_limit_refusal
from .engine.images import served_type
from .enrolment import add_enrolment_photo
from .enrolment_review import WithdrawRefused, withdraw_held_photo
from .models import FacePhoto
from .permissions import managed_capture, managed_face, managed_faces, visible_photo
from .review import (
    ReviewRefused,
    assign_faces,
    attendance_now,
    confirm_suggestion,
    dismiss_faces,
    reject_student,
    remove_capture,
)
from .uploads import ImageRejected, check_photo_upload

# Opened on its own, a face image may run nothing and load nothing, whatever is inside it.
FACE_IMAGE_POLICY = {"default-src": [NONE], "sandbox": True}


def private_file(stored, download_name):
    """A stored face image as the image its bytes are: the Content-Type comes from the decoded
    format, never from the file's name (files stored before names followed the format kept the
    uploader's extension), and anything but a JPEG, PNG or WebP is not served at all."""
    if not stored:
        raise Http404(_("No file."))
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is gone.")) from None
    served = served_type(handle)
    if served is None:
        handle.close()
        raise Http404(_("This file is not an image that can be shown."))
    handle.seek(0)
    extension, content_type = served
    response = FileResponse(handle, content_type=content_type, filename=f"{download_name}.{extension}")
    response["X-Content-Type-Options"] = "nosniff"
    # Biometric images: never kept in shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


def logged_file(request, stored, download_name, what, student=None):
    """private_file, written to the access log once it is served: who saw which face image."""
    response = private_file(stored, download_name)
    log_access(AccessLogEntry.VIEW_IMAGE, what, request=request, student=student)
    return response


@login_required
@csp(FACE_IMAGE_POLICY)
def face_photo_image(request, pk):
    photo = visible_photo(request, pk)
    what = f"Enrolment photo {photo.pk}"
    return logged_file(request, photo.image, f"enrolment-photo-{photo.pk}", what, photo.student)


@login_required
@csp(FACE_IMAGE_POLICY)
def capture_image(request, pk):
    capture = managed_capture(request, pk)
    return logged_file(request, capture.image, f"capture-{capture.pk}", f"Class photo {capture.pk} ({capture.session})")


@login_required
@csp(FACE_IMAGE_POLICY)
def face_crop_image(request, pk):
    face = managed_face(request, pk)
    what = f"Face {face.pk} in class photo {face.capture_id}"
    return logged_file(request, face.crop, f"face-{face.pk}", what, face.student or face.suggested_student)


# The session page shows messages tagged with this in its photos' section, where the teacher
# corrected the face, rather than at the top of the page (students/views.py messages_by_place).
FACES_PLACE = "captures"


def back_to_faces(session_id):
    return redirect(reverse("session_detail", args=[session_id]) + "#captures")


def correct_faces(request, pk, correction, done):
    """Run correction(faces, user) on the face and the rest of its person, then say what it did
    (done(result, faces)) or why it was refused."""
    faces = managed_faces(request, pk, request.POST.getlist("also"))
    try:
        result = correction(faces, request.user)
    except ReviewRefused as refusal:
        messages.error(request, str(refusal), extra_tags=FACES_PLACE)
    else:
        faces[0].refresh_from_db()  # the correction updated the rows, not these objects
        messages.success(request, done(result, faces), extra_tags=FACES_PLACE)
    return back_to_faces(faces[0].capture.session_id)


@login_required
@require_POST
def assign_face_view(request, pk):
    faces = managed_faces(request, pk, request.POST.getlist("also"))
    session = faces[0].capture.session
    student_pk = request.POST.get("student", "")
    if not student_pk.isdigit():
        messages.error(request, "Choose the student this face belongs to.", extra_tags=FACES_PLACE)
        return back_to_faces(session.pk)
    student = enrolled_student(session.course, student_pk)
    try:
        photo = assign_faces(faces, student, request.user, add_to_enrolment=bool(request.POST.get("add_to_enrolment")))
    except ReviewRefused as refusal:
        messages.error(request, str(refusal), extra_tags=FACES_PLACE)
    else:
        marked = _("Marked %(name)s as seen.") % {"name": student.full_name}
        added = _(
            "The face was added to their enrolment photos: it is used once it matches their accepted photos "
            "closely, otherwise after a school admin approves it."
        )
        messages.success(request, f"{marked} {added}" if photo else marked, extra_tags=FACES_PLACE)
    return back_to_faces(session.pk)


@login_required
@require_POST
def confirm_face_view(request, pk):
    return correct_faces(
        request,
        pk,
        confirm_suggestion,
        lambda _student, faces: _("Marked %(name)s as seen.") % {"name": faces[0].student.full_name},
    )


@login_required
@require_POST
def reject_face_view(request, pk):
    return correct_faces(
        request,
        pk,
        reject_student,
        lambda student, faces: attendance_now(faces[0].capture.session, student),
    )


@login_required
@require_POST
def dismiss_face_view(request, pk):
    return correct_faces(
        request, pk, dismiss_faces, lambda _student, faces: _("It no longer asks who it is; nobody was marked.")
    )


@login_required
@require_POST
def capture_remove(request, pk):
    capture = managed_capture(request, pk)
    session = capture.session
    withdrawn = remove_capture(capture, request.user)
    said = " ".join(attendance_now(session, student) for student in sorted(withdrawn, key=lambda s: s.full_name))
    removed = _("Photo %(number)s removed, with its faces.") % {"number": pk}
    messages.success(request, f"{removed} {said}".strip())
    return back_to_faces(session.pk)


@login_required
@require_POST
def capture_retry(request, pk):
    capture = managed_capture(request, pk)
    # A retry costs a worker what an upload costs: it counts against the same limit.
    refusal = upload_limit_refusal(f"user:{request.user.pk}")
    if refusal:
        messages.error(request, refusal)
    elif retry_capture(capture):
        messages.success(request, _("The photo is queued for recognition again."))
    else:
        messages.error(request, "This photo was already recognised; it is not redone.")
    return redirect("session_detail", capture.session_id)


@login_required
def enrol_by_camera(request, pk):
    student = enrollable_student(request, pk)
    photos = student.face_photos.order_by("-created_at")
    return render(
        request,
        "recognition/enrol.html",
        {
            "student": student,
            "photos": photos.exclude(status=FacePhoto.REJECTED),
            "refused": photos.filter(status=FacePhoto.REJECTED),
        },
    )


@login_required
@require_POST
def enrol_check(request, pk):
    """Store one camera shot as a pending enrolment photo and have the worker check it (one
    face, large and sharp enough): answered 202 with the URL to poll for the verdict. A shot
    that is not a usable image at all is refused at once, and nothing is stored."""
    student = enrollable_student(request, pk)
    if not student.has_consent:
        return refused(
            _("No consent for face photos is recorded for this student: record it on their admin page first.")
        )
    upload = request.FILES.get("image")
    if upload is None:
        return refused(_("Send the shot as the form field 'image'."))
    try:
        # Checked before it is read: a huge upload must not be read into memory.
        shot = check_photo_upload(upload, upload.size)
        photo, _new = add_enrolment_photo(student, shot.content, source=FacePhoto.CAMERA, added_by=request.user)
    except ImageRejected as rejection:
        return refused(str(rejection))
    return JsonResponse(shot_verdict(photo), status=202 if photo.status == FacePhoto.PENDING else 200)


@login_required
def enrol_shot(request, pk, photo_pk):
    """The worker's verdict on one camera shot, polled by the enrolment page."""
    student = enrollable_student(request, pk)
    return JsonResponse(shot_verdict(in_reach(student.face_photos.all(), photo_pk, _("No such shot of this student."))))


def shot_verdict(photo):
    """accepted: true (embedded, usable), false (refused, or held for a school admin's approval:
    reason says why; a refused photo stays, refused, as the admin shows it, and is never used) or
    null (the worker has not looked yet)."""
    accepted = {FacePhoto.ACCEPTED: True, FacePhoto.REJECTED: False, FacePhoto.HELD: False}.get(photo.status)
    reason = {FacePhoto.REJECTED: photo.rejection_reason, FacePhoto.HELD: photo.hold_reason}.get(photo.status, "")
    return {
        "accepted": accepted,
        "held": photo.status == FacePhoto.HELD,
        "status": photo.status,
        "reason": reason,
        "photo": photo.pk,
        "url": reverse("face_photo_image", args=[photo.pk]),
        "status_url": reverse("enrol_shot", args=[photo.student_id, photo.pk]),
    }


def refused(reason):
    return JsonResponse({"accepted": False, "reason": reason}, status=400)


@login_required
def student_photos(request, pk):
    """A student's enrolment photos, for the staff who teach them: what is used, what waits for
    a school admin and why, and what was refused."""
    student = taught_student(request, pk)
    photos = student.face_photos.select_related("added_by", "lookalike", "reviewed_by").order_by("-created_at")
    by_status = {status: [] for status, _label in FacePhoto.STATUS_CHOICES}
    for photo in photos:
        by_status[photo.status].append(photo)
    return render(
        request,
        "recognition/student_photos.html",
        {
            "student": student,
            "sections": [
                (_("Accepted: used to recognise them"), by_status[FacePhoto.ACCEPTED]),
                (_("Waiting for a school admin's approval"), by_status[FacePhoto.HELD]),
                (_("Being checked"), by_status[FacePhoto.PENDING]),
                (_("Refused: never used"), by_status[FacePhoto.REJECTED]),
            ],
        },
    )


@login_required
def enrolment_photo_statuses(request, pk):
    """Where a student's enrolment photos are (pending, accepted, held, refused) and why, for the
    admin's student page to update its "Pending" rows as the worker decides (static/photo_status.js)."""
    student = taught_student(request, pk)
    photos = {
        photo.pk: {
            "status": photo.status,
            "label": photo.get_status_display(),
            "reason": photo.hold_reason or photo.rejection_reason,
        }
        for photo in student.face_photos.all()
    }
    return JsonResponse({"photos": photos})


@login_required
@require_POST
def withdraw_photo(request, pk):
    photo = visible_photo(request, pk)
    try:
        withdraw_held_photo(photo, request.user)
    except WithdrawRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The photo was withdrawn and deleted."))
    return redirect("student_photos", photo.student_id)
