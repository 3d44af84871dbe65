from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from students import sheets
from students.models import Course, SheetSync
from students.tasks import schedule_sync


class Command(BaseCommand):
    help = "Write courses' attendance to their Google Sheets now; failures that may pass are handed to the worker."

    def add_arguments(self, parser):
        parser.add_argument("--course", metavar="CODE", help="Only this course (default: every course with sheets).")

    def handle(self, *args, course=None, **options):
        courses = Course.objects.order_by("code")
        if course:
            courses = courses.filter(code=course)
            if not courses.exists():
                raise CommandError(_("No course with code %(code)r.") % {"code": course})
        sheets.ensure_sheet_syncs(courses.values_list("pk", flat=True))
        syncs = SheetSync.objects.filter(course__in=courses).select_related("course").order_by("course__code")
        if not course:
            syncs = [sync for sync in syncs if sync.is_configured]
        failed = 0
        for sync in syncs:
            failure = sheets.sync_course(sync.course_id)
            if failure is None:
                self.stdout.write(_("%(course)s: synced") % {"course": sync.course.code})
                continue
            failed += 1
            self.stderr.write(f"{sync.course.code}: {failure.message}")
            if failure.retryable:
                schedule_sync(sync.course_id, 0)
        if failed:
            raise CommandError(_("%(count)d course(s) not synced.") % {"count": failed})
