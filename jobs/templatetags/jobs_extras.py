"""Template helpers for money shown the same way everywhere."""

from django import template

from jobs import catalogue

register = template.Library()


@register.filter
def money(value):
    return catalogue.format_money(value)
