"""Multi-workspace apps: installations and OAuth on the Django ORM.

* :mod:`.models` (``SlackInstallation``, ``SlackBot``, ``SlackOAuthState``; the app label stays
  ``django_slack_bolt``) and :mod:`.encryption` (their Fernet-encrypted token columns);
* :mod:`.installation_store` and :mod:`.state_store`: slack_sdk's store interfaces, sync and async;
* :mod:`.authorize` and :mod:`.async_authorize`: Bolt's ``authorize`` from the stored installation,
  with :mod:`.authorization_cache` and token rotation under a row lock;
* :mod:`.pages` and :mod:`.async_pages`: the install and callback pages as Django templates;
* :mod:`.revocation`: ``app_uninstalled`` and ``tokens_revoked``;
* :mod:`.app_factory`: ``build_app()`` and ``build_async_app()``, all of the above wired up from
  ``SLACK_BOLT``.

The modules named ``async_*`` import Bolt's async side, which needs aiohttp; nothing else does.
"""
