"""The Django admin for stored installations, bots and OAuth states: read-only, and never a token.

Rows change only through the OAuth flow, token rotation and the installation store, so the admin
shows them and cannot add or edit them. No token or refresh token is a column, a form field or a
read-only field. Two actions reach Slack:

* **Test authorization** calls ``auth.test`` with each selected row's bot token (its user token
  when it has none) and reports, per row, whether Slack accepts it.
* **Revoke and delete** (installations only, after a confirmation page) calls ``auth.revoke`` for
  the tokens of the rows it will delete, then deletes them through
  :class:`~django_slack_bolt.oauth.installation_store.DjangoInstallationStore`, so the
  ``installation_deleted`` signal is sent and cached authorizations are dropped.

Calls go to ``SLACK_BOLT["WEB_API_URL"]`` when it is set, else to Slack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import conf
from .oauth.installation_store import DjangoInstallationStore
from .oauth.models import SlackBot, SlackInstallation, SlackOAuthState

_M = TypeVar("_M", bound=Model)

if TYPE_CHECKING:
    _GenericModelAdmin = admin.ModelAdmin
else:

    class _GenericModelAdmin(admin.ModelAdmin):
        # ModelAdmin is generic in django-stubs only: ReadOnlyModelAdmin[SlackBot] works at run time too.
        def __class_getitem__(cls, item: object) -> type:
            return cls


__all__ = ["SlackBotAdmin", "SlackInstallationAdmin", "SlackOAuthStateAdmin"]

TOKEN_FIELDS: Final = frozenset({"bot_token", "bot_refresh_token", "user_token", "user_refresh_token"})
"""Columns the admin never shows, in any form."""

# auth.revoke errors that mean the token no longer works: its row can go.
ALREADY_INVALID_ERRORS: Final = frozenset({"token_revoked", "invalid_auth", "account_inactive"})

_ERROR_CODE = re.compile(r"[a-z0-9_.]{1,64}")
_TIMEOUT_SECONDS: Final = 10


def _web_client(token: str) -> WebClient:
    base_url = conf.get_setting("WEB_API_URL")
    if base_url:
        return WebClient(token=token, base_url=base_url, timeout=_TIMEOUT_SECONDS)
    return WebClient(token=token, timeout=_TIMEOUT_SECONDS)


def _slack_error(error: SlackApiError) -> str:
    """Slack's error code, only when it looks like one (nothing else of the answer reaches a page)."""
    response = getattr(error, "response", None)
    code = response.get("error") if response is not None else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else "unknown_error"


@dataclass(frozen=True)
class CallResult:
    """What Slack answered to one call: ``error`` is None on success, else a short code."""

    error: str | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def call_slack(method: str, token: str) -> CallResult:
    """Call ``method`` with ``token``; any failure becomes an error code, never an exception or text
    that could carry the token."""
    try:
        response = _web_client(token).api_call(method)
    except SlackApiError as e:
        return CallResult(_slack_error(e))
    except Exception as e:  # network and TLS errors: name the kind, not the message
        return CallResult(f"could not reach Slack: {type(e).__name__}")
    return CallResult(None, dict(response.data) if isinstance(response.data, dict) else {})


@admin.display(description=_("workspace"), ordering="team_name")
def workspace_name(row: SlackInstallation | SlackBot) -> str:
    """The workspace's name; for an org-wide install, the organization's."""
    if row.team_name:
        return row.team_name
    if row.enterprise_name and (row.is_enterprise_install or not row.team_id):
        return gettext("%(org)s (organization)") % {"org": row.enterprise_name}
    return ""


def label(row: SlackInstallation | SlackBot) -> str:
    """How messages name a row: ``Acme (T1) by U1``, ``Umbrella (org E2) by U4``, ``bot U0B in ...``."""
    where = row.team_id or (f"org {row.enterprise_id}" if row.enterprise_id else "?")
    name = row.team_name or row.enterprise_name
    workspace = f"{name} ({where})" if name else where
    if isinstance(row, SlackBot):
        return gettext("bot %(bot)s in %(workspace)s") % {"bot": row.bot_user_id, "workspace": workspace}
    return gettext("%(workspace)s by %(user)s") % {"workspace": workspace, "user": row.user_id}


# --- list filters ------------------------------------------------------------------------------


# The fieldsets installations and bots share (never a token field).
_WORKSPACE_AND_BOT_FIELDSETS: tuple[Any, ...] = (
    (
        _("Workspace"),
        {
            "fields": (
                ("team_name", "team_id"),
                ("enterprise_name", "enterprise_id"),
                "is_enterprise_install",
                ("app_id", "client_id"),
                "installed_at",
            )
        },
    ),
    (_("Bot"), {"fields": (("bot_user_id", "bot_id"), "bot_scopes", "bot_token_expires_at")}),
)


class EnterpriseFilter(admin.SimpleListFilter):
    """Rows by Enterprise Grid organization, named; "None" for workspaces outside any."""

    title = _("enterprise")
    parameter_name = "enterprise"
    NONE: Final = "-"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        rows = model_admin.get_queryset(request).exclude(_no_enterprise())
        names: dict[str, str | None] = {}
        pairs = rows.order_by("installed_at").values_list("enterprise_id", "enterprise_name")
        for enterprise_id, name in pairs:
            names[enterprise_id] = name or names.get(enterprise_id)  # the latest name wins
        choices = [(self.NONE, str(_("None")))]
        by_label = sorted(names.items(), key=lambda item: ((item[1] or "").casefold(), item[0]))
        choices += [(eid, f"{name} ({eid})" if name else eid) for eid, name in by_label]
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if value == self.NONE:
            return cast("QuerySet[Any]", queryset.filter(_no_enterprise()))
        return cast("QuerySet[Any]", queryset.filter(enterprise_id=value))


def _no_enterprise() -> Q:
    return Q(enterprise_id__isnull=True) | Q(enterprise_id="")


# --- shared behaviour --------------------------------------------------------------------------


def _without_tokens(names: Sequence[Any]) -> list[Any]:
    return [name for name in names if name not in TOKEN_FIELDS]


class ReadOnlyModelAdmin(_GenericModelAdmin[_M]):
    """No add, no edit, no delete through the admin's own views; tokens out of every field list."""

    exclude = tuple(sorted(TOKEN_FIELDS))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        # Django's delete would bypass the store: no signal, stale cached authorizations.
        return False

    def get_fields(self, request: HttpRequest, obj: _M | None = None) -> Any:
        return _without_tokens(super().get_fields(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj: _M | None = None) -> Any:
        return _without_tokens(super().get_readonly_fields(request, obj))

    def has_test_authorization_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


def _report_auth_tests(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, rows: Iterable[SlackInstallation | SlackBot]
) -> None:
    for row in rows:
        bot_token = getattr(row, "bot_token", None)
        user_token = getattr(row, "user_token", None)
        token, kind = (bot_token, gettext("bot token")) if bot_token else (user_token, gettext("user token"))
        if not token:
            model_admin.message_user(
                request, gettext("%(row)s: no token stored.") % {"row": label(row)}, level=messages.WARNING
            )
            continue
        result = call_slack("auth.test", token)
        if result.ok:
            message = gettext("%(row)s: the %(kind)s works (auth.test: %(who)s in %(team)s).") % {
                "row": label(row),
                "kind": kind,
                "who": result.data.get("user_id") or "?",
                "team": result.data.get("team") or result.data.get("team_id") or "?",
            }
            model_admin.message_user(request, message, level=messages.SUCCESS)
        else:
            message = gettext("%(row)s: the %(kind)s does not work (auth.test: %(error)s).") % {
                "row": label(row),
                "kind": kind,
                "error": result.error,
            }
            model_admin.message_user(request, message, level=messages.ERROR)


# --- installations -----------------------------------------------------------------------------


@admin.register(SlackInstallation)
class SlackInstallationAdmin(ReadOnlyModelAdmin[SlackInstallation]):
    list_display = (
        workspace_name,
        "team_id",
        "enterprise_name",
        "enterprise_id",
        "user_id",
        "bot_scopes",
        "user_scopes",
        "installed_at",
        "bot_token_expires_at",
        "user_token_expires_at",
    )
    list_filter = (EnterpriseFilter, "is_enterprise_install", "installed_at")
    search_fields = ("team_id", "team_name", "enterprise_id", "enterprise_name", "user_id")
    date_hierarchy = "installed_at"
    ordering = ("-installed_at", "-pk")
    fieldsets = (
        *_WORKSPACE_AND_BOT_FIELDSETS,
        (_("Installer"), {"fields": ("user_id", "user_scopes", "user_token_expires_at", "token_type")}),
        (
            _("Incoming webhook"),
            {
                "classes": ("collapse",),
                "fields": (
                    ("incoming_webhook_channel", "incoming_webhook_channel_id"),
                    "incoming_webhook_url",
                    "incoming_webhook_configuration_url",
                ),
            },
        ),
        (_("Other"), {"classes": ("collapse",), "fields": ("enterprise_url", "custom_values")}),
    )
    actions = ("test_authorization", "revoke_and_delete")

    @admin.action(description=_("Test authorization (auth.test)"), permissions=["test_authorization"])
    def test_authorization(self, request: HttpRequest, queryset: QuerySet[SlackInstallation]) -> None:
        _report_auth_tests(self, request, queryset.order_by("team_name", "team_id", "user_id", "pk"))

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """Revoking deletes: the model's delete permission (the admin's own delete is switched off)."""
        codename = get_permission_codename("delete", self.opts)
        return bool(request.user.has_perm(f"{self.opts.app_label}.{codename}"))

    @admin.action(description=_("Revoke tokens and delete"), permissions=["revoke"])
    def revoke_and_delete(
        self, request: HttpRequest, queryset: QuerySet[SlackInstallation]
    ) -> TemplateResponse | None:
        rows = list(queryset.order_by("team_name", "team_id", "user_id", "pk"))
        if request.POST.get("post") != "yes":
            return self._confirm_revocation(request, rows)
        revocation = Revocation(self, request)
        for group in _user_groups(rows):
            revocation.revoke_and_delete(group)
        return None

    def _confirm_revocation(self, request: HttpRequest, rows: list[SlackInstallation]) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Revoke tokens and delete installations?"),
            "subtitle": None,
            "opts": self.opts,
            "installations": rows,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action_name": "revoke_and_delete",
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "django_slack_bolt/admin/revoke_confirmation.html", context)


@dataclass(frozen=True)
class _UserGroup:
    """The selected rows of one installer in one workspace: the store deletes them together."""

    client_id: str
    enterprise_id: str | None
    team_id: str | None
    user_id: str
    selected: list[SlackInstallation]

    @property
    def label(self) -> str:
        return label(self.selected[-1])


def _user_groups(rows: Iterable[SlackInstallation]) -> list[_UserGroup]:
    groups: dict[tuple[str, str | None, str | None, str], _UserGroup] = {}
    for row in rows:
        key = (row.client_id, row.enterprise_id, row.team_id, row.user_id)
        if key not in groups:
            groups[key] = _UserGroup(*key, selected=[])
        groups[key].selected.append(row)
    return list(groups.values())


class Revocation:
    """One run of "Revoke and delete": each token revoked once, each workspace's bots deleted once.

    The store deletes an installer's rows in a workspace together (``delete_installation`` with the
    user id), so a selected row goes with the same installer's older rows there: they hold tokens of
    the same grant, and would be served again once the newer row is gone. Every token of every row
    that goes is revoked first. A row whose revocation fails for another reason than the token being
    dead already stays, and the message says why: deleting it would lose a live token.
    """

    def __init__(self, model_admin: SlackInstallationAdmin, request: HttpRequest) -> None:
        self.model_admin = model_admin
        self.request = request
        self.outcomes: dict[str, CallResult] = {}
        self.workspaces_done: set[tuple[str, str | None, str | None]] = set()

    def revoke(self, token: str) -> CallResult:
        if token not in self.outcomes:
            self.outcomes[token] = call_slack("auth.revoke", token)
        return self.outcomes[token]

    def revoke_all(self, kind: str, tokens: Iterable[str | None]) -> tuple[bool, list[str]]:
        """Revoke each distinct token: (whether one of them is now dead, why the others are not)."""
        any_dead, failures = False, []
        for token in sorted({token for token in tokens if token}):
            result = self.revoke(token)
            if result.ok or result.error in ALREADY_INVALID_ERRORS:
                any_dead = True
            else:
                failures.append(
                    gettext("auth.revoke of the %(kind)s failed (%(error)s)")
                    % {"kind": kind, "error": result.error}
                )
        return any_dead, failures

    def revoke_and_delete(self, group: _UserGroup) -> None:
        store = DjangoInstallationStore(group.client_id)
        rows = store.workspace_installations(group.enterprise_id, group.team_id).filter(user_id=group.user_id)
        going = list(rows.order_by("pk"))
        bot_dead, bot_failures = self.revoke_all(gettext("bot token"), (row.bot_token for row in going))
        _, user_failures = self.revoke_all(gettext("user token"), (row.user_token for row in going))
        notes = [self._delete_bots(store, group)] if bot_dead else []
        failures = bot_failures + user_failures
        if failures:
            message = gettext("%(row)s: not deleted: %(why)s.") % {
                "row": group.label,
                "why": "; ".join(failures + [note for note in notes if note]),
            }
            self.model_admin.message_user(self.request, message, level=messages.ERROR)
            return
        self._log_deletions(rows)
        store.delete_installation(
            enterprise_id=group.enterprise_id, team_id=group.team_id, user_id=group.user_id
        )
        deleted = ngettext(
            "%(count)d installation row deleted", "%(count)d installation rows deleted", len(going)
        ) % {"count": len(going)}
        if len(going) > len(group.selected):
            deleted += " " + gettext("(with the installer's older rows in this workspace)")
        revoked = (
            gettext("tokens revoked")
            if any(row.bot_token or row.user_token for row in going)
            else gettext("no token to revoke")
        )
        message = gettext("%(row)s: %(what)s.") % {
            "row": group.label,
            "what": "; ".join([revoked, deleted, *(note for note in notes if note)]),
        }
        self.model_admin.message_user(self.request, message, level=messages.SUCCESS)

    def _delete_bots(self, store: DjangoInstallationStore, group: _UserGroup) -> str | None:
        """Delete the workspace's bot rows once their tokens are revoked too; what to tell, once."""
        workspace = (group.client_id, group.enterprise_id, group.team_id)
        if workspace in self.workspaces_done:
            return None
        self.workspaces_done.add(workspace)
        bots = store.bots().filter(enterprise_id=group.enterprise_id, team_id=group.team_id)
        _, failures = self.revoke_all(gettext("bot token"), bots.values_list("bot_token", flat=True))
        if failures:
            return gettext("the workspace's bot rows are kept: %(why)s") % {"why": "; ".join(failures)}
        store.delete_bot(enterprise_id=group.enterprise_id, team_id=group.team_id)
        return gettext("the bot token is revoked and the workspace's bot rows deleted")

    def _log_deletions(self, rows: QuerySet[SlackInstallation]) -> None:
        model_admin, request = self.model_admin, self.request
        log_deletions = getattr(model_admin, "log_deletions", None)
        if log_deletions is not None:  # Django 5.1+
            log_deletions(request, rows)
        else:  # pragma: no cover - Django < 5.1
            for row in rows:
                getattr(model_admin, "log_deletion")(request, row, str(row))  # noqa: B009


# --- bots and OAuth states ---------------------------------------------------------------------


@admin.register(SlackBot)
class SlackBotAdmin(ReadOnlyModelAdmin[SlackBot]):
    list_display = (
        workspace_name,
        "team_id",
        "enterprise_name",
        "enterprise_id",
        "bot_user_id",
        "bot_id",
        "bot_scopes",
        "installed_at",
        "bot_token_expires_at",
    )
    list_filter = (EnterpriseFilter, "is_enterprise_install", "installed_at")
    search_fields = ("team_id", "team_name", "enterprise_id", "enterprise_name", "bot_user_id", "bot_id")
    date_hierarchy = "installed_at"
    ordering = ("-installed_at", "-pk")
    fieldsets = (
        *_WORKSPACE_AND_BOT_FIELDSETS,
        (_("Other"), {"classes": ("collapse",), "fields": ("custom_values",)}),
    )
    actions = ("test_authorization",)

    @admin.action(description=_("Test authorization (auth.test)"), permissions=["test_authorization"])
    def test_authorization(self, request: HttpRequest, queryset: QuerySet[SlackBot]) -> None:
        _report_auth_tests(self, request, queryset.order_by("team_name", "team_id", "pk"))


@admin.register(SlackOAuthState)
class SlackOAuthStateAdmin(ReadOnlyModelAdmin[SlackOAuthState]):
    """Only when each state expires: the state itself is the install page's CSRF secret."""

    list_display = ("expires_at", "expired")
    fields = ("expires_at",)
    exclude = ("state",)
    ordering = ("-expires_at",)
    actions = None

    @admin.display(boolean=True, description=_("expired"))
    def expired(self, obj: SlackOAuthState) -> bool:
        return bool(obj.expires_at <= timezone.now())
