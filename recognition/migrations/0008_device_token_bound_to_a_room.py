# A device token's room becomes one of the school's rooms (students.Room) instead of free text.

import django.db.models.deletion
from django.db import migrations, models


def rooms_from_free_text(apps, schema_editor):
    """Each token's room name is the Room of that name (without case; made when the sessions had
    none), so a camera keeps serving the sessions it served."""
    Room = apps.get_model("students", "Room")
    DeviceToken = apps.get_model("recognition", "DeviceToken")
    for device in DeviceToken.objects.exclude(room_name="").iterator():
        name = device.room_name.strip()
        room = Room.objects.filter(name__iexact=name).first() or Room.objects.create(name=name)
        DeviceToken.objects.filter(pk=device.pk).update(room=room)
    settle_deferred_checks(schema_editor)


def rooms_back_to_free_text(apps, schema_editor):
    DeviceToken = apps.get_model("recognition", "DeviceToken")
    for device in DeviceToken.objects.filter(room__isnull=False).select_related("room").iterator():
        DeviceToken.objects.filter(pk=device.pk).update(room_name=device.room.name)
    settle_deferred_checks(schema_editor)


def settle_deferred_checks(schema_editor):
    # PostgreSQL checks foreign keys at the commit; a table with such checks pending cannot be
    # altered in the same transaction, as the next operations do.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):

    dependencies = [
        ('recognition', '0007_face_corrections'),
        ('students', '0010_names_one_line_rooms_roster_logins'),
    ]

    operations = [
        migrations.RemoveConstraint(model_name='devicetoken', name='device_token_has_a_scope'),
        migrations.RenameField(model_name='devicetoken', old_name='room', new_name='room_name'),
        migrations.AddField(
            model_name='devicetoken',
            name='room',
            field=models.ForeignKey(blank=True, help_text='The device may send captures to sessions held in this room.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='device_tokens', to='students.room'),
        ),
        migrations.RunPython(rooms_from_free_text, rooms_back_to_free_text),
        migrations.RemoveField(model_name='devicetoken', name='room_name'),
        migrations.AddConstraint(
            model_name='devicetoken',
            constraint=models.CheckConstraint(condition=models.Q(('course__isnull', False), ('room__isnull', False), _connector='OR'), name='device_token_has_a_scope'),
        ),
    ]
