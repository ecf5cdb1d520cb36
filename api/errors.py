"""The API's one shape of refusal, `{"message": ..., "errors": {field: [messages]}}`, and the
handlers that give every failure that shape: ours, Django's 404 and oversized bodies, ninja's
own input checks and a missing or revoked token."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.tokens import Refused

NOT_FOUND = "There is nothing here for you: it does not exist, or it is not yours to see."
FIX_FIELDS = "Nothing was sent or charged: fix what is said about each field, then try again."


class ApiError(Exception):
    def __init__(self, status, message, errors=None, headers=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.errors = errors or {}
        self.headers = headers or {}


def form_errors(form):
    """A Django form's errors as {field: [messages]} ("__all__" for the form as a whole), with
    its formsets' rows under their prefixed names (`shots-0-prompt`)."""
    found = {name: list(messages) for name, messages in form.errors.items()}
    for formset in (getattr(form, "shots", None), getattr(form, "elements", None)):
        if formset is None or not formset.is_bound:
            continue
        if formset.non_form_errors():
            found[formset.prefix] = list(formset.non_form_errors())
        for row in formset.forms:
            for name, messages in row.errors.items():
                found[row.add_prefix(name)] = list(messages)
    return found


def install(api):
    def answer(request, status, message, errors=None, headers=None):
        response = api.create_response(request, {"message": message, "errors": errors or {}},
                                       status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(ApiError)
    def refused(request, exc):
        return answer(request, exc.status, exc.message, exc.errors, exc.headers)

    @api.exception_handler(Refused)
    def no_token(request, exc):
        return answer(request, 401, exc.message, headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return answer(request, 401, "This request needs an API token.",
                      headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        message = str(exc)
        if message == "Cannot parse request body":
            message = "The request's body is not JSON Kling Studio can read: send a JSON object."
        return answer(request, exc.status_code, message)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return answer(request, 404, NOT_FOUND)

    @api.exception_handler(ValidationError)
    def invalid(request, exc):
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            # ("query", "limit") or ("body", "payload", "job"): the field is the last part
            where = [str(part) for part in error.get("loc", ()) if part not in ("body", "query",
                                                                                  "path")]
            errors.setdefault(where[-1] if where else "__all__", []).append(
                str(error.get("msg", "This value is not valid.")))
        return answer(request, 400, FIX_FIELDS, errors)

    @api.exception_handler(RequestDataTooBig)
    @api.exception_handler(TooManyFieldsSent)
    @api.exception_handler(TooManyFilesSent)
    def too_big(request, exc):
        return answer(request, 413, "This request is too large: send at most a few images of "
                                    "10 MB each, and fewer fields. Nothing was sent or charged.")
