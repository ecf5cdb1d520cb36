"""The API tokens page under Settings: a person makes, sees and revokes their own tokens.

A new token's secret is on the answer to the POST that made it and nowhere else (no redirect,
no session, never cached): the page says to copy it now. Only the token's owner reaches it;
anybody else's token id is a 404.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import tokens
from api.forms import TokenForm
from api.models import MAX_TOKENS, Token


@never_cache
def token_list(request):
    form = TokenForm(request.POST or None, person=request.user)
    made = secret = None
    if request.method == "POST" and form.is_valid():
        made, secret = tokens.issue(request.user, form.cleaned_data["name"])
        form = TokenForm(person=request.user)
    shown = Token.objects.filter(person=request.user)
    return render(request, "api/tokens.html",
                  {"form": form, "tokens": shown, "made": made, "secret": secret,
                   "max_tokens": MAX_TOKENS},
                  status=400 if form.errors else 200)


@require_POST
def revoke(request, pk):
    token = get_object_or_404(Token, pk=pk, person=request.user)
    if token.revoke():
        messages.success(request, f"“{token.name}” is revoked: anything still using it is now "
                                  "refused.")
    return redirect("api-tokens")
