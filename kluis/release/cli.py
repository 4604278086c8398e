"""`kluis release` (make and verify signed bundles) and the `kluis review` group with `serve`.

`kluis release REQUEST_DIR --out BUNDLE_DIR` and `kluis release verify BUNDLE_DIR`: the group's
first token is either a sub-command or a request directory, which goes to `create` (a request
directory literally named `verify` is reached with `kluis release create verify ...`).

The review group is assembled here because its web application offers the release: the release
is the later stage and hands the application its own function, so kluis.review never imports
kluis.release.
"""

from __future__ import annotations

from pathlib import Path

import typer
from typer import _click as click
from typer.core import TyperGroup

from kluis.review.cli import app as review


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument, when it is not a sub-command, goes to `create`."""

    default = "create"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultCommandGroup,
    no_args_is_help=True,
    help="Signed release bundles: `kluis release REQUEST_DIR --out BUNDLE_DIR`, "
    "`kluis release verify BUNDLE_DIR`.",
)


def _keystore(path: Path | None):  # type: ignore[no-untyped-def]
    from kluis.pseudonym.keystore import KeyStore

    return KeyStore(path)


@app.command("create")
def create(
    request_dir: Path = typer.Argument(..., help="The output request directory."),
    out: Path = typer.Option(..., "--out", help="Bundle directory to write (must not exist)."),
    keystore: Path | None = typer.Option(
        None, "--keystore", help="Key store with the release key (default: $KLUIS_KEYSTORE)."
    ),
) -> None:
    """Bundle the approved outputs of a request, signed with the steward's release key."""
    from kluis import audit
    from kluis.access import require
    from kluis.pseudonym.signing import load_signing_key
    from kluis.release.bundle import release_request

    user = require("release")
    key = load_signing_key(_keystore(keystore))
    bundle = release_request(request_dir, out, user, key)
    from kluis.release.verify import verify_bundle

    checked = verify_bundle(bundle, key.public)
    m = checked.manifest
    audit.note(
        deliberation=m.get("deliberation"),
        request=m.get("request", {}).get("id"),
        wrote={"release.json": _sha(bundle / "release.json")},
    )
    outputs = ", ".join(o["name"] for o in m.get("outputs", []))
    n = sum(len(o["files"]) for o in m.get("outputs", []))
    typer.echo(
        f"released {n} file(s) of {outputs} to {bundle}, signed by release key {key.fingerprint}"
    )


def _sha(path: Path) -> str:
    from kluis.review.store import sha256_file

    return sha256_file(path)


@app.command("verify")
def verify(
    bundle: Path = typer.Argument(..., help="The bundle directory."),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="The release key's public half (PEM; default: the key store's)."
    ),
    keystore: Path | None = typer.Option(None, "--keystore", help="Key store (default key)."),
) -> None:
    """Check every file's sha256 and the signature; exit 1 naming each mismatch."""
    from kluis.errors import BadInput, Refused
    from kluis.pseudonym.signing import PUBLIC, load_public
    from kluis.release.verify import verify_bundle

    if not bundle.is_dir():
        raise BadInput(f"{bundle}: not a directory")
    if public_key is None:
        public_key = _keystore(keystore).root / PUBLIC
        if not public_key.is_file():
            raise BadInput(f"no public release key at {public_key}: give --public-key FILE")
    v = verify_bundle(bundle, load_public(public_key))
    if not v.ok:
        lines = "\n".join(f"  {p}" for p in v.problems)
        raise Refused(f"{bundle} does not verify ({len(v.problems)} problem(s)):\n{lines}")
    m = v.manifest
    typer.echo(
        f"{bundle}: verified: {v.files} file(s), request {m.get('request', {}).get('id')}, "
        f"deliberation {m.get('deliberation')}, checkers {', '.join(m.get('checkers', []))}, "
        f"signed by {m.get('signing_key')}"
    )


@review.command("serve")
def serve(
    requests: Path = typer.Option(..., "--requests", help="Directory of output requests."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    releases: Path | None = typer.Option(
        None,
        "--releases",
        help="Where releases made in the application go (default: $KLUIS_HOME/releases).",
    ),
    keystore: Path | None = typer.Option(None, "--keystore", help="Key store (release key)."),
) -> None:
    """The checkers' web application over the requests under a directory."""
    import uvicorn

    from kluis.review.web import create_app

    if not requests.is_dir():
        raise typer.BadParameter(f"{requests}: not a directory", param_hint="--requests")
    hosts = None if host in ("0.0.0.0", "::") else [host, "127.0.0.1", "localhost"]
    app_ = create_app(requests, releaser=web_releaser(releases, keystore), allowed_hosts=hosts)
    typer.echo(f"kluis review: http://{host}:{port}/ (requests under {requests})")
    uvicorn.run(app_, host=host, port=port, log_level="warning")


def web_releaser(releases: Path | None, keystore: Path | None):  # type: ignore[no-untyped-def]
    """The release action the web application offers: bundle into RELEASES/<request id>."""
    from kluis.home import home

    target = releases or home() / "releases"

    def release(request_dir: Path, user):  # type: ignore[no-untyped-def]
        from kluis.pseudonym.signing import load_signing_key
        from kluis.release.bundle import release_request
        from kluis.review.store import open_request

        key = load_signing_key(_keystore(keystore))
        rid = open_request(request_dir).id
        return release_request(request_dir, target / rid, user, key)

    return release
