"""WSGI entry point (gunicorn klingstudio.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "klingstudio.settings")
application = get_wsgi_application()
