import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")

app = Celery("attendance_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def make_broker_folders(sender, **kwargs):
    """kombu's filesystem transport writes into its folders but does not make them, and a web
    process that only sends a task needs the queue folder as much as a worker does."""
    if not sender.conf.broker_url.startswith("filesystem://"):
        return
    for option, folder in sender.conf.broker_transport_options.items():
        if "folder" in option:
            Path(folder).mkdir(parents=True, exist_ok=True)
