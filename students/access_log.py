"""The access log: who viewed or downloaded a face image, exported data or withdrew consent,
when, what and from where. Append-only (students/models.py: AccessLogEntry); the admin reads
it and the student's export includes their part."""

from attendance_site.ratelimit import client_address

from .models import AccessLogEntry

# Where an action without a web request comes from (manage.py withdraw_consent, the shell).
COMMAND_LINE = "command line"


def log_access(action, what, user=None, request=None, student=None):
    """Write one entry. The user and the address come from the request when there is one (the
    address read through the trusted proxies, as the login limits read it)."""
    if request is not None:
        user = request.user if request.user.is_authenticated else None
        address = client_address(request)
    else:
        address = COMMAND_LINE
    return AccessLogEntry.objects.create(
        user=user,
        who=user.get_username() if user is not None else COMMAND_LINE,
        action=action,
        what=what[:300],
        student=student,
        address=address[:64],
    )
