"""The Django project the benchmark serves: one settings module, one URLconf, three Bolt apps.

The same project runs in-process (Django's test client) and under a real gunicorn, so both parts
of the benchmark measure exactly the same middleware, views and apps.
"""
