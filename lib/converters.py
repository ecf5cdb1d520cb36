"""Path converters. `<id:pk>` is `<int:pk>` bounded to what a database id column holds: a path
with a longer number is a 404, never an overflow in the database driver (a 500)."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(IdConverter, "id")
