"""What the preview says of a plan, on the admin's page and the command line: counts per
section, the rows that change, the logins that wait for a person's confirmation first and
marked, and notes on what an import leaves to do. Words only: the plan's digest is over its
data (planning.py)."""

from django.utils.translation import gettext_lazy as _

from .planning import CREATE, IGNORED, KINDS, REMOVE, SECTIONS, STUDENTS, TEACHERS, UNCHANGED, UPDATE

CONSENT_NOTE = _(
    "Imported students have no consent recorded. Photos of these students are not processed until "
    'consent is recorded (admin action "Record consent").'
)
TEACHER_LOGIN_NOTE = _(
    "New teacher logins have no usable password: the teachers set one with password reset or school sign-in."
)


def summary(plan):
    """[(section, {kind: count})] in the order the preview shows them."""
    return [(section, {kind: plan.count(kind, section) for kind in KINDS}) for section in SECTIONS]


def notes(plan):
    found = []
    if plan.count(CREATE, STUDENTS):
        found.append(str(CONSENT_NOTE))
    if plan.count(CREATE, TEACHERS):
        found.append(str(TEACHER_LOGIN_NOTE))
    return found


def preview_lines(plan, verbose=False):
    """The preview as text lines: counts per section, then the rows that change (and with verbose,
    the rows left alone)."""
    removed = "removed" if plan.removals_applied else REMOVE
    lines = []
    for section, counts in summary(plan):
        lines.append(f"{section}: " + ", ".join(f"{counts[k]} {removed if k == REMOVE else k}" for k in KINDS))
    shown = KINDS if verbose else [CREATE, UPDATE, REMOVE, IGNORED]
    for kind in shown:
        for section, row in plan.rows(kind):
            lines.append(f"  {removed if kind == REMOVE else kind} {section}: {row}")
    return [*held_lines(plan), *lines, totals(plan), *notes(plan)]


HELD_NOTE = _(
    "Existing logins this bundle would change that the import did not make, or an admin's: nothing "
    "is changed on them unless each is confirmed by name"
)


def held_lines(plan):
    """The held logins' changes, first and marked: a bundle that names an admin's login must not
    pass as one line among hundreds."""
    held = plan.held_rows()
    if not held:
        return []
    lines = [f"!! {HELD_NOTE} (--confirm-login NAME):"]
    for login, why, rows in held:
        done = " (confirmed, applied)" if login in plan.confirmed else ""
        lines.append(f"!!   {login}: {why}{done}")
        lines += [f"!!     {section}: {row}" for section, row in rows]
    return lines


def totals(plan):
    removed = "removed" if plan.removals_applied else REMOVE
    return (
        f"Total: {plan.count(CREATE)} created, {plan.count(UPDATE)} updated, {plan.count(UNCHANGED)} unchanged, "
        f"{plan.count(REMOVE)} {removed}."
    )
