# The device tokens move from recognition to access, above both apps (docs/architecture.md): the
# state only, the table stays. recognition/migrations/0011_device_tokens_move_to_access.py takes
# the model out of recognition's state.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_follows(apps, schema_editor):
    """The admin's history of the tokens (who created or revoked one) and their permissions are
    kept by the content type: it moves with the model instead of a new one being made."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="access", model="devicetoken").exists():
        ContentType.objects.filter(app_label="recognition", model="devicetoken").update(app_label="access")


def content_type_goes_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="recognition", model="devicetoken").exists():
        ContentType.objects.filter(app_label="access", model="devicetoken").update(app_label="recognition")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('recognition', '0008_device_token_bound_to_a_room'),
        ('students', '0010_names_one_line_rooms_roster_logins'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DeviceToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(help_text="Which device this is, e.g. 'Room 12 camera'.", max_length=100)),
                        ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('course', models.ForeignKey(blank=True, help_text="The device may send captures to this course's sessions.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='device_tokens', to='students.course')),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('room', models.ForeignKey(blank=True, help_text='The device may send captures to sessions held in this room.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='device_tokens', to='students.room')),
                    ],
                    options={
                        'db_table': 'recognition_devicetoken',
                        'ordering': ['name'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('course__isnull', False), ('room__isnull', False), _connector='OR'), name='device_token_has_a_scope')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_follows, content_type_goes_back),
    ]
