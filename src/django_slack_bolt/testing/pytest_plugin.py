"""pytest fixtures of the django-slack-bolt test kit (registered through the pytest11 entry point)."""
