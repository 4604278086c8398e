from tests.review_requests import _users_template, review_env  # noqa: F401
