from django.contrib.admin.apps import AdminConfig


class RollCallAdminConfig(AdminConfig):
    """django.contrib.admin with the site's login limits (students/login.py)."""

    default_site = "students.login.RollCallAdminSite"
