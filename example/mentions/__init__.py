"""A tiny Django app for the demo: the ORM model the Slack listeners write to."""
