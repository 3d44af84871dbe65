# The device tokens move to access (access/migrations/0001_initial.py): captures now point at
# access.DeviceToken, the same table; nothing changes in the database.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0001_initial'),
        ('recognition', '0010_session_people'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='capture',
                    name='device',
                    field=models.ForeignKey(blank=True, help_text='The classroom camera that sent it, if a device sent it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='captures', to='access.devicetoken'),
                ),
                migrations.DeleteModel(name='DeviceToken'),
            ],
        ),
    ]
