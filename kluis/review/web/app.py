"""The review application: FastAPI routes over a directory of output requests.

Pages: sign-in, the queue, a request, an output (grid, intervals, findings, files, code, the
development run beside it). Actions (POST, each with the session's CSRF token): sign in, sign
out, decide (through `kluis.review.decide`, the same function the demo calls), release (through
the function the release stage hands in, when it does). Nothing is shown or done without
sign-in; a researcher sees their own project's requests with the decisions and comments, never
the checker's internal files.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.staticfiles import StaticFiles

from kluis.access import PERMISSIONS, User, Users
from kluis.enclave.request import RequestError
from kluis.errors import BadInput, KluisError, NotPermitted
from kluis.review.decide import decide
from kluis.review.files import image_type
from kluis.review.store import ReviewRequest, Unreadable, find_requests
from kluis.review.views import file_path, output_page
from kluis.review.web.auth import (
    SESSION_HOURS,
    Session,
    Sessions,
    Throttle,
    load_secret,
    token_matches,
)

#: (request directory, user) -> the bundle written; given by the release stage
Releaser = Callable[[Path, User], Path]

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No live session: pages go to the sign-in form, actions are refused."""


class Forbidden(Exception):
    """Signed in, but this page or action is not for this user (or its CSRF token is wrong)."""


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("kluis.review.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["STATE_CLASS"] = lambda s: s.replace(" ", "-")
    env.globals["VERDICT"] = {"approve": "approved", "reject": "rejected"}
    return env


def create_app(
    requests_dir: Path | str,
    *,
    users: Users | None = None,
    secret: str | None = None,
    releaser: Releaser | None = None,
    https_only: bool = False,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The application over the request directories below `requests_dir`."""
    root = Path(requests_dir).absolute()
    users = users or Users()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret or load_secret(),
        session_cookie="kluis_review",
        max_age=SESSION_HOURS * 3600,
        same_site="strict",
        https_only=https_only,
    )
    if allowed_hosts:  # a page of another site resolving its name to us (DNS rebinding)
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    app.mount("/static", StaticFiles(packages=[("kluis.review.web", "static")]), name="static")
    app.state.sessions = Sessions(users)
    app.state.throttle = Throttle()
    app.state.users = users
    env = _templates()

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for k, v in _HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def page(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, **ctx)
        return HTMLResponse(html, status_code=status)

    def signed_in(request: Request) -> tuple[Session, User]:
        found = app.state.sessions.get(request.session.get("sid"))
        if found is None:
            raise SignInRequired()
        return found

    def checked(request: Request, csrf: str) -> tuple[Session, User]:
        """A signed-in user whose form carries this session's CSRF token."""
        session, user = signed_in(request)
        if not token_matches(session.csrf, csrf):
            raise Forbidden("the form's security token is missing or not this session's")
        return session, user

    def all_requests() -> list[ReviewRequest | Unreadable]:
        found = find_requests(root)
        ids: dict[str, int] = {}
        for r in found:
            if isinstance(r, ReviewRequest):
                ids[r.id] = ids.get(r.id, 0) + 1
        return [
            Unreadable(r.path, f"request id {r.id} is used by more than one directory")
            if isinstance(r, ReviewRequest) and ids[r.id] > 1
            else r
            for r in found
        ]

    def lookup(user: User, rid: str) -> tuple[list[ReviewRequest | Unreadable], ReviewRequest]:
        """The request `rid` if this user may see it (404 either way when not: a researcher
        learns nothing about other projects' requests)."""
        requests = all_requests()
        for r in requests:
            if isinstance(r, ReviewRequest) and r.id == rid and r.may_view(user):
                return requests, r
        raise LookupError(rid)

    def context(session: Session, user: User, **ctx: Any) -> dict[str, Any]:
        flash, session.flash = session.flash, ""
        return {"user": user, "csrf": session.csrf, "flash": flash, **ctx}

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/login", status_code=303)
        return page(request, "error.html", 403, message="Sign in first.", user=None)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, "error.html", 403, message=f"Refused: {exc}", user=None)

    @app.exception_handler(LookupError)
    async def _not_found(request: Request, exc: LookupError) -> Response:
        return page(request, "error.html", 404, message="No such request or output.", user=None)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        request.session["login_csrf"] = token
        return page(request, "login.html", csrf=token, error="", user=None)

    @app.post("/login")
    def login(
        request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form("")
    ) -> Response:
        expected = request.session.pop("login_csrf", None)
        if not token_matches(expected, csrf):
            raise Forbidden("the sign-in form's security token is missing or stale")
        blocked = app.state.throttle.blocked(name)
        user = None if blocked else users.authenticate(name, password)
        if user is None:
            if not blocked:
                app.state.throttle.failed(name)
            token = secrets.token_urlsafe(32)
            request.session["login_csrf"] = token
            if blocked:
                return page(
                    request,
                    "login.html",
                    429,
                    csrf=token,
                    user=None,
                    error="Too many failed sign-ins for this name: wait 15 minutes.",
                )
            return page(
                request,
                "login.html",
                401,
                csrf=token,
                user=None,
                error="Unknown name or wrong password.",
            )
        app.state.throttle.cleared(name)
        app.state.sessions.end(request.session.get("sid"))
        request.session.clear()
        request.session["sid"] = app.state.sessions.start(user)
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        checked(request, csrf)
        app.state.sessions.end(request.session.get("sid"))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def queue(request: Request) -> HTMLResponse:
        session, user = signed_in(request)
        rows = [
            r
            for r in all_requests()
            if (isinstance(r, ReviewRequest) and r.may_view(user))
            or (isinstance(r, Unreadable) and user.role != "researcher")
        ]
        return page(request, "queue.html", **context(session, user, rows=rows))

    @app.get("/requests/{rid}", response_class=HTMLResponse)
    def request_page(request: Request, rid: str) -> HTMLResponse:
        session, user = signed_in(request)
        _, rr = lookup(user, rid)
        may_release = releaser is not None and user.role in PERMISSIONS["release"]
        return page(
            request, "request.html", **context(session, user, rr=rr, may_release=may_release)
        )

    def render_output(
        request: Request,
        session: Session,
        user: User,
        rid: str,
        name: str,
        status: int = 200,
        error: str = "",
        comment: str = "",
    ) -> HTMLResponse:
        if user.role == "researcher":
            raise Forbidden("the output page is the checker's view; see the request page")
        requests, rr = lookup(user, rid)
        if name not in {o.name for o in rr.request.outputs}:
            raise LookupError(name)
        view = output_page(requests, rr, name)
        may_decide = user.role in PERMISSIONS["review.decide"]
        approved_by_me = any(d.checker == user.name for d in view.st.approvals)
        may_approve = may_decide and not approved_by_me and not rr.involves(user)
        return page(
            request,
            "output.html",
            status,
            **context(
                session,
                user,
                p=view,
                may_decide=may_decide,
                may_approve=may_approve,
                approved_by_me=approved_by_me,
                error=error,
                comment=comment,
            ),
        )

    @app.get("/requests/{rid}/outputs/{name}", response_class=HTMLResponse)
    def output(request: Request, rid: str, name: str) -> HTMLResponse:
        session, user = signed_in(request)
        return render_output(request, session, user, rid, name)

    @app.get("/requests/{rid}/outputs/{name}/files/{index}")
    def output_file(request: Request, rid: str, name: str, index: int) -> Response:
        session, user = signed_in(request)
        if user.role == "researcher":
            raise Forbidden("files are the checker's view")
        _, rr = lookup(user, rid)
        try:
            ref, path = file_path(rr, rr.request.output(name), index)
        except RequestError as exc:
            raise LookupError(name) from exc
        if not path.is_file():
            raise LookupError(name)
        with open(path, "rb") as fh:
            media = image_type(fh.read(16))
        headers = {"Content-Security-Policy": "default-src 'none'; sandbox"}
        if media:
            return FileResponse(path, media_type=media, headers=headers)
        download = Path(ref.path).name
        return FileResponse(
            path, media_type="application/octet-stream", filename=download, headers=headers
        )

    @app.post("/requests/{rid}/outputs/{name}/decide")
    def decide_output(
        request: Request,
        rid: str,
        name: str,
        verdict: str = Form(""),
        comment: str = Form(""),
        csrf: str = Form(""),
    ) -> Response:
        session, user = checked(request, csrf)
        _, rr = lookup(user, rid)
        if name not in {o.name for o in rr.request.outputs}:
            raise LookupError(name)
        try:
            decide(rr.path, name, user, verdict, comment)
        except KluisError as exc:
            code = (
                403 if isinstance(exc, NotPermitted) else 400 if isinstance(exc, BadInput) else 409
            )
            return render_output(request, session, user, rid, name, code, str(exc), comment)
        session.flash = f"{'Approved' if verdict == 'approve' else 'Rejected'} {name}."
        return RedirectResponse(f"/requests/{rid}/outputs/{name}", status_code=303)

    @app.post("/requests/{rid}/release")
    def release(request: Request, rid: str, csrf: str = Form("")) -> Response:
        session, user = checked(request, csrf)
        if releaser is None or user.role not in PERMISSIONS["release"]:
            raise Forbidden(f"{user.name} ({user.role}) may not release")
        _, rr = lookup(user, rid)
        try:
            bundle = releaser(rr.path, user)
        except (KluisError, OSError) as exc:
            session.flash = f"Not released: {exc}"
        else:
            session.flash = f"Released to {bundle}."
        return RedirectResponse(f"/requests/{rid}", status_code=303)

    return app
