"""URL routing: the Hub routes the ``huggingface_hub`` client calls, mapped to handler functions.

Patterns are matched against the *unquoted* path segments: the client quotes revisions and
tree paths with ``safe=""`` (``refs%2Fconvert%2Fparquet`` is one segment) while resolve paths keep
their ``/``. ``{x}`` matches one segment, ``{x*}`` the rest of the path (joined with ``/``, possibly
empty). Repo ids are always ``namespace/name``.
"""

from __future__ import annotations

from typing import Callable

from . import handlers_files as files
from . import handlers_repo as repos
from . import handlers_upload as upload
from .context import HubContext
from .errors import HubError, NotFound
from .protocol import Request, Response

Handler = Callable[..., Response]

_TYPED = "{tp}/{ns}/{name}"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "api/whoami-v2", repos.whoami),
    ("GET", "api/mthub/health", repos.health),
    ("POST", "api/validate-yaml", repos.validate_yaml),
    ("GET", "api/agent-harnesses", repos.agent_harnesses),
    ("POST", "api/repos/create", repos.create_repo),
    ("DELETE", "api/repos/delete", repos.delete_repo),
    ("PUT", "api/mthub/lfs/{tp}/{ns}/{name}/{oid}", upload.lfs_put),
    ("GET", "api/{tp}", repos.list_repos),
    ("GET", f"api/{_TYPED}", repos.repo_info),
    ("GET", f"api/{_TYPED}/revision/{{rev}}", repos.repo_info),
    ("GET", f"api/{_TYPED}/tree/{{rev}}/{{path*}}", repos.tree),
    ("POST", f"api/{_TYPED}/paths-info/{{rev}}", repos.paths_info),
    ("GET", f"api/{_TYPED}/commits/{{rev}}", repos.list_commits),
    ("GET", f"api/{_TYPED}/refs", repos.list_refs),
    ("POST", f"api/{_TYPED}/branch/{{branch}}", repos.create_branch),
    ("DELETE", f"api/{_TYPED}/branch/{{branch}}", repos.delete_branch),
    ("POST", f"api/{_TYPED}/tag/{{tag}}", repos.create_tag),
    ("DELETE", f"api/{_TYPED}/tag/{{tag}}", repos.delete_tag),
    ("PUT", f"api/{_TYPED}/settings", repos.update_settings),
    ("POST", f"api/{_TYPED}/preupload/{{rev}}", upload.preupload),
    ("POST", f"api/{_TYPED}/commit/{{rev}}", upload.commit),
    ("GET", f"api/{_TYPED}/xet-read-token/{{rest*}}", repos.xet_unsupported),
    ("GET", f"api/{_TYPED}/xet-write-token/{{rest*}}", repos.xet_unsupported),
    # Typed (datasets/spaces) file routes first: "datasets/x/resolve/..." must not parse as model "datasets/x".
    ("POST", "{tp}/{ns}/{namegit}/info/lfs/objects/batch", upload.lfs_batch),
    ("POST", "{ns}/{namegit}/info/lfs/objects/batch", upload.lfs_batch),
    ("GET", "{tp}/{ns}/{name}/resolve/{rev}/{path*}", files.resolve),
    ("GET", "{ns}/{name}/resolve/{rev}/{path*}", files.resolve),
]

#: Prefixes of non-model repos in web URLs (``/datasets/org/name/resolve/...``).
_URL_TYPES = {"datasets", "spaces"}
_API_TYPES = {"models", "datasets", "spaces"}


class Router:
    def __init__(self, routes: list[tuple[str, str, Handler]] = ROUTES):
        self.routes = [(method, pattern.split("/"), handler) for method, pattern, handler in routes]

    @staticmethod
    def _match(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for i, part in enumerate(pattern):
            if part.endswith("*}"):
                params[part[1:-2]] = "/".join(segments[i:])
                return params
            if i >= len(segments):
                return None
            if part.startswith("{"):
                if segments[i] == "":
                    return None
                params[part[1:-1]] = segments[i]
            elif part != segments[i]:
                return None
        return params if len(segments) == len(pattern) else None

    def find(self, method: str, segments: list[str]) -> tuple[Handler, dict[str, str]]:
        lookup = "GET" if method == "HEAD" else method
        path_matched = False
        for route_method, pattern, handler in self.routes:
            params = self._match(pattern, segments)
            if params is None:
                continue
            tp = params.get("tp")
            if tp is not None and pattern[0] == "api" and tp not in _API_TYPES:
                continue
            if tp is not None and pattern[0] != "api" and tp not in _URL_TYPES:
                continue
            if tp is not None and pattern[0] != "api":
                params["tp"] = tp  # "datasets"/"spaces" are also valid API type names
            path_matched = True
            if route_method == lookup:
                return handler, params
        if path_matched:
            raise HubError(f"method {method} is not allowed on /{'/'.join(segments)}", status=405)
        raise NotFound(f"no route for {method} /{'/'.join(segments)} on this hub")

    def dispatch(self, ctx: HubContext, request: Request) -> Response:
        handler, params = self.find(request.method, request.segments)
        return handler(ctx, request, **params)
