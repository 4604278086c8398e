"""The review web application (FastAPI, Jinja2 templates, plain HTML forms)."""

from kluis.review.web.app import Releaser, create_app

__all__ = ["Releaser", "create_app"]
