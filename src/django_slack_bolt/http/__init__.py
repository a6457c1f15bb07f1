"""The HTTP adapter: Slack's requests in, Bolt's answers out.

From the bottom up, each module importing only those above it in this list:

* :mod:`.guard`: size, signature and body-shape checks on raw bytes (knows nothing of Django);
* :mod:`.bolt_app`: what the adapter reads from, and changes in, a Bolt ``App`` or ``AsyncApp``;
* :mod:`.core`: Django request to Bolt request through the guard, Bolt response to Django response,
  the routing, and the set-up both handlers give an app; it knows nothing of sync or async;
* :mod:`.fast_ack`: the logic of answering Slack the moment ``ack()`` is called, shared by
  :mod:`.thread_runner` (``App``) and :mod:`.asyncio_runner` (``AsyncApp``);
* :mod:`.connections`: database-connection hygiene for listener threads and tasks;
* :mod:`.sync_handler` and :mod:`.async_handler`: the two thin faces, which import nothing from each
  other (``django_slack_bolt.handler`` re-exports the sync one, Bolt's drop-in API);
* :mod:`.app_loader`, :mod:`.views`, :mod:`.urls`: the app of ``SLACK_BOLT["APP"]`` served from
  Django views.
"""
