"""`kluis keys create|show|destroy|release-key`: the per-deliberation pseudonymisation keys and
the steward's signing key."""

from __future__ import annotations

from pathlib import Path

import typer

from kluis.pseudonym.keystore import KeyStore, KeyStoreError, deliberation_slug

app = typer.Typer(no_args_is_help=True)

_DELIB = typer.Argument(..., help="Deliberation number (26/104), slug (26-104) or its YAML file.")
_STORE = typer.Option(
    None, "--keystore", help="Key store directory (default: $KLUIS_KEYSTORE or ~/.kluis/keys)."
)


def _number(deliberation: str) -> str:
    """Accept a deliberation file as well as a number: read only its `number` field (through
    the shared YAML reader: size, encoding and alias limits)."""
    path = Path(deliberation)
    if path.suffix in {".yaml", ".yml"}:
        from kluis.yamlfile import read_yaml

        doc = read_yaml(path, what="a deliberation file")
        number = doc.data.get("number")
        if not isinstance(number, str | int) or not str(number).strip():
            raise KeyStoreError(f"{path}:{doc.line(('number',)) or 1}: number: missing or empty")
        return str(number)
    return deliberation


@app.command()
def create(deliberation: str = _DELIB, keystore: Path | None = _STORE) -> None:
    """Create the secret key of a deliberation (refuses to replace an existing key)."""
    store = KeyStore(keystore)
    key = store.create(_number(deliberation))
    _record_key(store, key.deliberation, key.fingerprint, deliberation)
    typer.echo(f"created key for {key.deliberation}: fingerprint {key.fingerprint}")
    typer.echo(f"stored in {store.path(key.deliberation)} (mode 0600)")


def _record_key(store: KeyStore, slug: str, fp: str, given: str) -> None:
    """Catalogue the key (retention destroys it with its deliberation's data) and note it in
    the audit record."""
    from kluis.audit import note
    from kluis.audit.catalogue import register

    number = slug.replace("-", "/")
    retention = None
    path = Path(given)
    if path.suffix in {".yaml", ".yml"}:
        from kluis.yamlfile import read_yaml

        value = read_yaml(path, what="a deliberation file").data.get("retention")
        retention = str(value) if value is not None else None
    register("key", store.path(slug), deliberation=number, retention=retention, fingerprint=fp)
    note(deliberation=number, wrote={"key": fp})


@app.command("release-key")
def release_key(keystore: Path | None = _STORE) -> None:
    """Create the steward's Ed25519 signing key (releases, audit checkpoints, destruction
    certificates). Prints only where the public key is and its fingerprint."""
    from kluis.access.signing import create, paths

    store = KeyStore(keystore)
    key = create(store.root)
    typer.echo(f"created the steward's signing key: fingerprint {key.fingerprint}")
    typer.echo(f"public key (publish it with releases): {paths(store.root)[1]}")


@app.command()
def show(deliberation: str = _DELIB, keystore: Path | None = _STORE) -> None:
    """Show a key's fingerprint and creation date (never the key itself)."""
    store = KeyStore(keystore)
    key = store.load(_number(deliberation))
    typer.echo(f"deliberation: {key.deliberation}")
    typer.echo(f"created:      {key.created}")
    typer.echo(f"fingerprint:  {key.fingerprint}")
    typer.echo(f"file:         {store.path(key.deliberation)}")


@app.command()
def destroy(
    deliberation: str = _DELIB,
    keystore: Path | None = _STORE,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Overwrite and delete a key (at retention): its pseudonyms can never be re-linked."""
    store = KeyStore(keystore)
    number = _number(deliberation)
    path = store.path(number)
    if not yes:
        typer.confirm(f"Destroy {path}? This cannot be undone", abort=True)
    fp = store.destroy(number)
    from kluis.audit import note
    from kluis.audit.catalogue import forget

    forget("key", path)
    note(deliberation=deliberation_slug(number).replace("-", "/"), destroyed={"key": fp})
    typer.echo(f"destroyed key {fp} ({path})")
