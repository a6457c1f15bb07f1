"""Bolt's OAuth pages (install, success, failure) as Django templates a project can override.

Bolt renders these pages from HTML built into its code. Here they are templates:

* ``django_slack_bolt/install.html``: the "Add to Slack" page;
* ``django_slack_bolt/oauth_success.html``: the page after a completed installation;
* ``django_slack_bolt/oauth_failure.html``: the page after a failed one, in plain words and without
  internals (no exception text, token or Slack answer; the reason code only when it looks like one).

A project overrides one by putting a template of the same name in its own templates directory. Wiring::

    App(oauth_flow=DjangoOAuthFlow(settings=OAuthSettings(...)))

``DjangoOAuthFlow`` renders the install page and, when the settings have no ``callback_options`` of
their own, installs :class:`DjangoCallbackOptions` for the callback pages. ``AsyncDjangoOAuthFlow`` and
``AsyncDjangoCallbackOptions`` (:mod:`django_slack_bolt.oauth.async_pages`) do the same for
``AsyncApp``; they are apart because Bolt's async modules need aiohttp.

Bolt calls these pages without a Django request, so templates get only the context documented on
:func:`install_page_context`, :func:`success_page_context` and :func:`failure_page_context` (no context
processors). The context is escaped by Django's autoescaping.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from logging import Logger
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import quote

from django.template import Context, Engine, TemplateDoesNotExist, loader
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from slack_bolt.error import BoltError
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth import OAuthStateUtils
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web import WebClient

__all__ = [
    "FAILURE_TEMPLATE",
    "INSTALL_TEMPLATE",
    "SUCCESS_TEMPLATE",
    "DjangoCallbackOptions",
    "DjangoOAuthFlow",
    "failure_page_context",
    "failure_response",
    "install_page_context",
    "render_page",
    "store_errors_as_bolt_errors",
    "success_page_context",
    "success_response",
]

logger = logging.getLogger("django_slack_bolt.oauth")

INSTALL_TEMPLATE: Final = "django_slack_bolt/install.html"
SUCCESS_TEMPLATE: Final = "django_slack_bolt/oauth_success.html"
FAILURE_TEMPLATE: Final = "django_slack_bolt/oauth_failure.html"

_PACKAGE_TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"

# Slack's error codes are short snake_case words; anything else in ?error= is not shown to the user,
# so that a crafted link cannot put its own text on the project's domain.
_REASON_CODE: Final = re.compile(r"[a-z0-9_]{1,64}")

_FAILURE_TEXTS: Final[Mapping[str, tuple[Promise, Promise]]] = {
    "access_denied": (
        _("Installation cancelled"),
        _("The app was not installed because the installation was cancelled in Slack."),
    ),
    "invalid_browser": (
        _("Start again in this browser"),
        _(
            "The installation was started in another browser, or this browser did not keep the cookie "
            "the install page set. Start again from the install page, in this browser, with cookies allowed."
        ),
    ),
    "invalid_state": (
        _("This installation link has expired"),
        _(
            "The installation link has expired or was already used: each link works once, for a few "
            "minutes. Start again from the install page."
        ),
    ),
    "missing_code": (
        _("Slack did not finish the installation"),
        _("Slack sent you back without the authorization the app needs. Start again from the install page."),
    ),
    "invalid_code": (
        _("Slack refused the installation"),
        _(
            "Slack did not accept the app's authorization code, for instance because it expired. "
            "Start again from the install page."
        ),
    ),
    "storage_error": (
        _("The installation could not be saved"),
        _(
            "Slack approved the installation, but the app could not save it. Try again in a few minutes; "
            "if it keeps failing, contact the app's owner."
        ),
    ),
}
_GENERIC_FAILURE: Final = (
    _("The installation did not complete"),
    _(
        "Slack reported a problem with the installation. Try again; if it keeps failing, "
        "contact the app's owner."
    ),
)


class _PageSettings(Protocol):
    """What the pages read from Bolt's ``OAuthSettings`` or ``AsyncOAuthSettings``."""

    install_path: str
    success_url: str | None
    state_utils: OAuthStateUtils


# --- rendering ------------------------------------------------------------------------------------


@functools.cache
def _package_engine() -> Engine:
    return Engine(dirs=[str(_PACKAGE_TEMPLATES)], libraries={"i18n": "django.templatetags.i18n"})


def render_page(template_name: str, context: Mapping[str, Any]) -> str:
    """Render ``template_name`` with the project's template engines, without a request.

    A project's own template of that name wins over the package's. When no engine finds the template
    (a project with ``TEMPLATES = []``, or without ``APP_DIRS``), the package's copy is rendered by a
    private engine, so the OAuth pages never fail for want of a templates setting.
    """
    try:
        template = loader.get_template(template_name)
    except TemplateDoesNotExist:
        return _package_engine().get_template(template_name).render(Context(dict(context), autoescape=True))
    return template.render(dict(context))


def _html_response(body: str, status: int, settings: _PageSettings) -> BoltResponse:
    return BoltResponse(
        status=status,
        body=body,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # The state cookie has served its purpose, whatever the outcome (as Bolt's pages do).
            "Set-Cookie": settings.state_utils.build_set_cookie_for_deletion(),
            "Cache-Control": "no-store",
        },
    )


# --- page contexts --------------------------------------------------------------------------------


def install_page_context(authorize_url: str, *, app_name: str | None = None) -> dict[str, Any]:
    """Context of ``install.html``.

    ``authorize_url``: Slack's authorize URL with the app's client ID, scopes and a fresh state, the
    target of the "Add to Slack" button. ``app_name``: the app's name, or ``None`` when not given.
    """
    return {"authorize_url": authorize_url, "app_name": app_name}


def _open_slack_url(installation: Installation, settings: _PageSettings) -> str:
    # Bolt's choice (slack_sdk's RedirectUriPageRenderer.render_success_page), IDs quoted.
    if settings.success_url:
        return settings.success_url
    app_id, team_id = installation.app_id, installation.team_id
    enterprise_url = installation.enterprise_url
    # The URL comes from Slack's auth.test answer; only an https one may become a link.
    if (
        installation.is_enterprise_install
        and app_id
        and enterprise_url
        and enterprise_url.startswith("https://")
    ):
        base = enterprise_url if enterprise_url.endswith("/") else enterprise_url + "/"
        return f"{base}manage/organization/apps/profile/{quote(app_id, safe='')}/workspaces/add"
    if not team_id or not app_id:
        return "slack://open"
    return f"slack://app?team={quote(team_id, safe='')}&id={quote(app_id, safe='')}"


def success_page_context(
    installation: Installation, settings: _PageSettings, *, app_name: str | None = None
) -> dict[str, Any]:
    """Context of ``oauth_success.html``.

    ``team_name``, ``team_id``: the workspace (``None`` for an org-wide install);
    ``enterprise_name``, ``enterprise_id``, ``is_enterprise_install``: the Enterprise Grid organization;
    ``app_id``, ``app_name``;
    ``open_slack_url``: the "Open Slack" target, as on Bolt's page: ``OAuthSettings.success_url`` when
    set, for an org-wide install the organization's app management page, else
    ``slack://app?team=T...&id=A...`` (``slack://open`` when either ID is unknown);
    ``browser_url``: the workspace in Slack's web client (``https://app.slack.com/client/T...``);
    ``redirect_url``: where the page sends the browser at once (``open_slack_url``, as Bolt's page
    does; an override that empties the ``redirect`` block stays on the page).
    No token or other secret of the installation is included.
    """
    team_id = installation.team_id
    target = _open_slack_url(installation, settings)
    return {
        "team_name": installation.team_name,
        "team_id": team_id,
        "enterprise_name": installation.enterprise_name,
        "enterprise_id": installation.enterprise_id,
        "is_enterprise_install": bool(installation.is_enterprise_install),
        "app_id": installation.app_id,
        "app_name": app_name,
        "open_slack_url": target,
        "browser_url": f"https://app.slack.com/client/{quote(team_id, safe='')}"
        if team_id
        else "https://app.slack.com/",
        "redirect_url": target,
    }


def failure_page_context(
    reason: str, status_code: int, settings: _PageSettings, *, app_name: str | None = None
) -> dict[str, Any]:
    """Context of ``oauth_failure.html``.

    ``reason``: Bolt's ``FailureArgs.reason`` (``invalid_browser``, ``invalid_state``, ``missing_code``,
    ``invalid_code``, ``storage_error``, or Slack's ``error`` such as ``access_denied``), or ``""``
    when it is not a plain error code; ``title`` and ``message``: what went wrong, in plain words;
    ``install_url``: the install page, for "Try again"; ``status_code``; ``app_name``.
    """
    title, message = _FAILURE_TEXTS.get(reason, _GENERIC_FAILURE)
    return {
        "reason": reason if _REASON_CODE.fullmatch(reason) else "",
        "title": title,
        "message": message,
        "install_url": settings.install_path,
        "status_code": status_code,
        "app_name": app_name,
    }


# --- Bolt's callback options and OAuth flow -------------------------------------------------------


def success_response(
    installation: Installation, settings: _PageSettings, *, app_name: str | None = None
) -> BoltResponse:
    """The success page as Bolt's callback options return it (200, state cookie deleted)."""
    context = success_page_context(installation, settings, app_name=app_name)
    return _html_response(render_page(SUCCESS_TEMPLATE, context), 200, settings)


def failure_response(
    reason: str,
    status_code: int,
    settings: _PageSettings,
    *,
    error: BaseException | None = None,
    app_name: str | None = None,
) -> BoltResponse:
    """The failure page with Bolt's suggested status; ``error`` is logged, never shown."""
    if error is not None:
        logger.error("Slack OAuth callback failed (%s)", reason, exc_info=error)
    else:
        logger.info("Slack OAuth callback failed (%r)", reason[:100])
    context = failure_page_context(reason, status_code, settings, app_name=app_name)
    return _html_response(render_page(FAILURE_TEMPLATE, context), status_code, settings)


@contextmanager
def store_errors_as_bolt_errors() -> Iterator[None]:
    """Re-raise whatever the installation store raises as a ``BoltError``.

    Bolt turns only ``BoltError`` into its ``storage_error`` page; a database error would be a 500.
    """
    try:
        yield
    except BoltError:
        raise
    except Exception as err:
        raise BoltError("The installation store could not save the installation") from err


class DjangoCallbackOptions(CallbackOptions):
    """Bolt callback options rendering ``oauth_success.html`` and ``oauth_failure.html``.

    ``OAuthSettings(callback_options=DjangoCallbackOptions(app_name="Deploy Bot"))``; a
    :class:`DjangoOAuthFlow` installs one by itself when the settings have none.
    """

    def __init__(self, *, app_name: str | None = None) -> None:
        self.app_name = app_name
        super().__init__(success=self._success, failure=self._failure)

    def _success(self, args: SuccessArgs) -> BoltResponse:
        return success_response(args.installation, args.settings, app_name=self.app_name)

    def _failure(self, args: FailureArgs) -> BoltResponse:
        return failure_response(
            args.reason, args.suggested_status_code, args.settings, error=args.error, app_name=self.app_name
        )


class DjangoOAuthFlow(OAuthFlow):
    """Bolt's ``OAuthFlow`` with the install page rendered from ``install.html``.

    ``DjangoOAuthFlow(settings=OAuthSettings(...), app_name=None)``: when ``settings.callback_options`` is
    ``None``, it is set to ``DjangoCallbackOptions(app_name=app_name)``; options of your own are kept.
    Besides, any exception of the installation store (not only Bolt's ``BoltError``) becomes the
    ``storage_error`` page instead of a server error, and the install page is sent ``no-store``: it
    carries a one-time state that no shared cache may hand to someone else.
    """

    def __init__(
        self,
        *,
        client: WebClient | None = None,
        logger: Logger | None = None,
        settings: OAuthSettings,
        app_name: str | None = None,
    ) -> None:
        self.app_name = app_name
        if settings.callback_options is None:
            settings.callback_options = DjangoCallbackOptions(app_name=app_name)
        super().__init__(client=client, logger=logger, settings=settings)

    def build_install_page_html(self, url: str, request: BoltRequest) -> str:
        return render_page(INSTALL_TEMPLATE, install_page_context(url, app_name=self.app_name))

    def append_set_cookie_headers(
        self, headers: dict[str, Any], set_cookie_value: str | None
    ) -> dict[str, Any]:
        # Only handle_installation calls this: the one place to add a header to the install response.
        headers = super().append_set_cookie_headers(headers, set_cookie_value)
        headers["Cache-Control"] = "no-store"
        return headers

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        with store_errors_as_bolt_errors():
            super().store_installation(request, installation)
