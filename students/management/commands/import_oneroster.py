from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from students.oneroster.checking import read_roster
from students.oneroster.planning import REMOVE, apply_roster, plan_import
from students.oneroster.preview import preview_lines
from students.oneroster.reading import BundleRefused, read_bundle


class Command(BaseCommand):
    help = (
        "Import students, teachers, classes and enrolments from a OneRoster 1.1 CSV bundle (a zip or a "
        "folder). Without --apply it only previews. Nobody is removed without --confirm-removals, and a "
        "removed student is deactivated and taken off the imported courses, never deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="The zip file or folder the school's system exported.")
        parser.add_argument("--apply", action="store_true", help="Write the changes (in one transaction).")
        parser.add_argument(
            "--confirm-removals",
            action="store_true",
            help="With --apply, also apply what the preview lists as 'would be removed'.",
        )
        parser.add_argument(
            "--confirm-login",
            action="append",
            default=[],
            metavar="NAME",
            dest="confirm_logins",
            help="With --apply, also apply the changes to this existing login, one the import did not make or "
            "an admin's (the preview lists them first, marked !!). Once per login.",
        )

    def handle(self, bundle, apply=False, confirm_removals=False, confirm_logins=(), verbosity=1, **options):
        try:
            roster, errors = read_roster(read_bundle(bundle))
        except BundleRefused as refused:
            raise CommandError(f"{bundle}: {refused}") from refused
        self.refuse_on(errors, bundle)
        plan = apply_roster(roster, confirm_removals, confirmed_logins=confirm_logins) if apply else plan_import(roster)
        self.refuse_on(plan.errors, bundle)
        for line in preview_lines(plan, verbose=verbosity > 1):
            self.stdout.write(line)
        if not apply:
            self.stdout.write(_("Nothing was written: run again with --apply to apply this."))
            return
        self.stdout.write(self.style.SUCCESS(_("Applied in one transaction.")))
        if plan.count(REMOVE) and not confirm_removals:
            pending = plan.count(REMOVE)
            self.stdout.write(
                _("%(count)d removal(s) not applied: run again with --apply --confirm-removals.") % {"count": pending}
            )
        waiting = plan.unconfirmed()
        if waiting:
            flags = " ".join(f"--confirm-login {login}" for login in waiting)
            self.stdout.write(
                _("The changes to %(logins)s were not applied: run again with %(flags)s.")
                % {"logins": ", ".join(waiting), "flags": flags}
            )

    def refuse_on(self, errors, bundle):
        for error in errors:
            self.stderr.write(str(error))
        if errors:
            raise CommandError(
                _("%(count)d error(s) in %(bundle)s; nothing was written.") % {"count": len(errors), "bundle": bundle}
            )
