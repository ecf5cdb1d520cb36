"""A test client for the JSON API that checks every answer against the API's own OpenAPI
document (fetched from /api/v1/openapi.json, as a tool would) with openapi-core: an answer the
document does not describe (a missing field, a number where it promises a string, a status it
does not list) fails the test that got it."""

from django.test import Client
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse

from api import tokens

_document = {}


def openapi():
    if "spec" not in _document:
        response = Client().get("/api/v1/openapi.json")
        assert response.status_code == 200
        _document["spec"] = OpenAPI.from_dict(response.json())
    return _document["spec"]


class ApiClient(Client):
    """Sends `Authorization: Bearer <secret>` and validates what comes back; `checked` lists
    (method, path pattern, status) of every answer validated."""

    def __init__(self, secret, **defaults):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {secret}", **defaults)
        self.checked = set()

    def request(self, **request):
        response = super().request(**request)
        check(response)
        self.checked.add((response.wsgi_request.method, pattern_of(response),
                          response.status_code))
        return response


class _Asked(DjangoOpenAPIRequest):
    """The request as openapi-core sees it; only answers are validated here, and a multipart
    body already read by the view cannot be read again."""

    @property
    def body(self):
        return b""


def check(response):
    openapi().validate_response(_Asked(response.wsgi_request), DjangoOpenAPIResponse(response))


def pattern_of(response):
    return _Asked(response.wsgi_request).path_pattern


def api_as(person, name="Tests"):
    return ApiClient(tokens.issue(person, name)[1])
