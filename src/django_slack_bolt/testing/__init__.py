"""Test kit for Slack apps served by django-slack-bolt."""
