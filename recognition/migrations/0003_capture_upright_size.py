from django.db import migrations, models

from recognition.engine.images import upright_size


def store_upright_sizes(apps, schema_editor):
    """Give the captures stored so far the size the page draws them at, read from each file's
    header (a damaged EXIF block counts as none). A file that is gone or is no image keeps no
    size: the page then says the photo cannot be shown, instead of opening the file each time."""
    Capture = apps.get_model("recognition", "Capture")
    for capture in Capture.objects.filter(width__isnull=True).exclude(image="").iterator():
        try:
            with capture.image.open("rb") as handle:
                width, height = upright_size(handle)
        except Exception:  # noqa: BLE001 - one unreadable file must not stop the migration
            continue
        Capture.objects.filter(pk=capture.pk).update(width=width, height=height)


class Migration(migrations.Migration):

    dependencies = [
        ("recognition", "0002_device_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="capture",
            name="height",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="capture",
            name="width",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(store_upright_sizes, migrations.RunPython.noop),
    ]
