from django.contrib.admin.apps import AdminConfig

# Models of installed libraries that nobody manages in the admin: the school sign-in's apps come
# from the settings (SCHOOL_SIGNIN_APPS), never from the database, so allauth's social
# applications, their tokens and the accounts it links are only noise under /admin/.
UNUSED_IN_THE_ADMIN = [
    ("socialaccount", "SocialApp"),
    ("socialaccount", "SocialToken"),
    ("socialaccount", "SocialAccount"),
]


class RollCallAdminConfig(AdminConfig):
    """django.contrib.admin with the site's login limits (students/login.py), without the
    libraries' models nothing here uses."""

    default_site = "students.login.RollCallAdminSite"

    def ready(self):
        super().ready()  # every app's admin.py is imported here
        from django.apps import apps
        from django.contrib import admin

        for app_label, model_name in UNUSED_IN_THE_ADMIN:
            model = apps.get_model(app_label, model_name)
            if admin.site.is_registered(model):
                admin.site.unregister(model)
