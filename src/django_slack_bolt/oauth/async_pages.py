"""The async twins of :class:`~django_slack_bolt.oauth.pages.DjangoOAuthFlow` and its callback options.

Apart from :mod:`~django_slack_bolt.oauth.pages` because Bolt's async modules need aiohttp, which the
sync pages do not. The pages themselves (templates, contexts, responses) are rendered by the functions
there: the twins differ only in the Bolt classes they extend and in awaiting Bolt's calls.
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from .pages import (
    INSTALL_TEMPLATE,
    failure_response,
    install_page_context,
    render_page,
    store_errors_as_bolt_errors,
    success_response,
)

__all__ = ["AsyncDjangoCallbackOptions", "AsyncDjangoOAuthFlow"]


class AsyncDjangoCallbackOptions(AsyncCallbackOptions):
    """:class:`~django_slack_bolt.oauth.pages.DjangoCallbackOptions` for ``AsyncOAuthSettings``."""

    def __init__(self, *, app_name: str | None = None) -> None:
        self.app_name = app_name
        super().__init__(success=self._success, failure=self._failure)

    async def _success(self, args: AsyncSuccessArgs) -> BoltResponse:
        return success_response(args.installation, args.settings, app_name=self.app_name)

    async def _failure(self, args: AsyncFailureArgs) -> BoltResponse:
        return failure_response(
            args.reason, args.suggested_status_code, args.settings, error=args.error, app_name=self.app_name
        )


class AsyncDjangoOAuthFlow(AsyncOAuthFlow):
    """:class:`~django_slack_bolt.oauth.pages.DjangoOAuthFlow` for ``AsyncApp``: the same pages.

    ``AsyncDjangoOAuthFlow(settings=AsyncOAuthSettings(...), app_name=None)``: when
    ``settings.callback_options`` is ``None``, it is set to ``AsyncDjangoCallbackOptions(app_name=...)``.
    """

    def __init__(
        self,
        *,
        client: AsyncWebClient | None = None,
        logger: Logger | None = None,
        settings: AsyncOAuthSettings,
        app_name: str | None = None,
    ) -> None:
        self.app_name = app_name
        # Bolt's own type check comes first, so a sync OAuthSettings gets Bolt's error, not an odd one.
        if isinstance(settings, AsyncOAuthSettings) and settings.callback_options is None:
            settings.callback_options = AsyncDjangoCallbackOptions(app_name=app_name)
        super().__init__(client=client, logger=logger, settings=settings)

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        # Rendering touches no database or network: safe to run in the event loop.
        return render_page(INSTALL_TEMPLATE, install_page_context(url, app_name=self.app_name))

    async def append_set_cookie_headers(
        self, headers: dict[str, Any], set_cookie_value: str | None
    ) -> dict[str, Any]:
        headers = await super().append_set_cookie_headers(headers, set_cookie_value)
        headers["Cache-Control"] = "no-store"
        return headers

    async def store_installation(self, request: AsyncBoltRequest, installation: Installation) -> None:
        with store_errors_as_bolt_errors():
            await super().store_installation(request, installation)
