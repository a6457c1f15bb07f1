"""A module that fails while it runs, as a Slack app module does without its environment variables."""

from slack_bolt import App

app = App(signing_secret="s")  # no token and no authorize: Bolt raises BoltError
