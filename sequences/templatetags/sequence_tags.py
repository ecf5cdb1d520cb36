"""The "Add to sequence" menu beside each finished video: the person's sequences, read once per
page however many videos it shows."""

from django import template

from sequences.models import Sequence

register = template.Library()

MENU_LENGTH = 30


@register.simple_tag(takes_context=True)
def sequence_menu(context):
    """The sequences open to the person viewing the page, most recently changed first."""
    request = context["request"]
    if not hasattr(request, "_sequence_menu"):
        request._sequence_menu = list(Sequence.objects.open_to(request.user)
                                      .select_related("project__team")[:MENU_LENGTH])
    return request._sequence_menu
