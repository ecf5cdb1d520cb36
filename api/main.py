"""The JSON API under /api/v1/, built with django-ninja: typed schemas validate what comes in,
describe what goes out, and make the OpenAPI document (/api/v1/openapi.json) from the same
classes.

Every endpoint but the document itself authenticates by a personal API token only
(`api.tokens.TokenAuth`) and then acts as that person, under the pages' own rules: what they may
see (`visible_to`), their budget, approvals, rate limits. The views are therefore marked
`login_not_required` for Django's LoginRequiredMiddleware (a tool has no session to sign in with)
and are CSRF-exempt as every ninja view is (nothing here reads a cookie). ninja's docs page is
off: it loads its scripts from a CDN, and everything here works offline.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern
from ninja import NinjaAPI

from api import approvals, errors, jobs, sequences, uploads
from api.tokens import TokenAuth
from lib import converters  # noqa: F401 (registers <id:...>, which the paths use)

NAMESPACE = "api-v1"


class StudioAPI(NinjaAPI):
    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                login_not_required(pattern.callback)
        return patterns


api = StudioAPI(
    title="Kling Studio API", version="1", urls_namespace=NAMESPACE, auth=TokenAuth(),
    docs_url=None, openapi_url="/openapi.json",
    description="Make and follow image-to-video jobs as yourself, with a personal API token "
                "(Settings › API tokens) sent as `Authorization: Bearer <token>`. Every refusal "
                "answers `{\"message\": ..., \"errors\": {field: [messages]}}`.")
errors.install(api)
api.add_router("", jobs.router)
api.add_router("", uploads.router)
api.add_router("", sequences.router)
api.add_router("", approvals.router)
