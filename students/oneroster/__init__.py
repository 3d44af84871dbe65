"""Rosters from the school's system: a OneRoster 1.1 CSV bundle (a zip or a folder) read,
checked, planned, previewed and applied, one module each.

    files = reading.read_bundle(path)            # {file name: bytes}; BundleRefused for a bad zip or folder
    roster, errors = checking.read_roster(files)  # errors: RosterError, "FILE line N: message"
    plan = planning.plan_import(roster)           # what would change; writes nothing
    lines = preview.preview_lines(plan)           # the plan in words
    plan = planning.apply_roster(roster, confirm_removals=False)  # the same plan, applied in one transaction

The admin's page (students/oneroster_admin.py) and `manage.py import_oneroster` both go through
these.
"""
