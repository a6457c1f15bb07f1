from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mentions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="mention",
            name="team_id",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
    ]
