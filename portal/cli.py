"""The `portal` console script: Flask's CLI bound to this app."""
from __future__ import annotations

from flask.cli import FlaskGroup

from portal.app import create_app


def main() -> None:
    """Entry point of the `portal` command."""
    cli = FlaskGroup(create_app=lambda: create_app(), help="Training and attestation portal.")
    cli.main(prog_name="portal")
