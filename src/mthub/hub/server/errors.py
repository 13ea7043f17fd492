"""HTTP-level errors of the mthub Hub server.

Every error carries the HTTP status, an optional ``X-Error-Code`` understood by the
``huggingface_hub`` client (``RepoNotFound`` -> ``RepositoryNotFoundError``,
``RevisionNotFound`` -> ``RevisionNotFoundError``, ``EntryNotFound`` ->
``EntryNotFoundError``) and a human-readable message that the server sends both as the
``X-Error-Message`` header and as ``{"error": ...}`` in the JSON body (the client shows
both in the exception text).
"""

from __future__ import annotations


class HubError(Exception):
    """Base class: an error answered to the client with ``status`` and ``message``."""

    status: int = 500
    error_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        detail: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        #: Longer explanation sent in the JSON body (the header keeps the short ``message``).
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class BadRequest(HubError):
    status = 400


class Unauthorized(HubError):
    status = 401


class Forbidden(HubError):
    status = 403


class NotFound(HubError):
    """A route that does not exist (no ``X-Error-Code``: the client raises ``HfHubHTTPError``)."""

    status = 404


class RepoNotFound(HubError):
    status = 404
    error_code = "RepoNotFound"


class RevisionNotFound(HubError):
    status = 404
    error_code = "RevisionNotFound"


class EntryNotFound(HubError):
    status = 404
    error_code = "EntryNotFound"


class Conflict(HubError):
    status = 409


class PreconditionFailed(HubError):
    """Stale ``parentCommit``; ``datasets.push_to_hub`` retries on 412 like on the real Hub."""

    status = 412


class RangeNotSatisfiable(HubError):
    status = 416


class NotImplementedOnThisHub(HubError):
    status = 501


class IncompleteBody(Exception):
    """The client closed the connection (or stalled) before sending the whole request body."""
