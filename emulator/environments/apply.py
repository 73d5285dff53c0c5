"""Applying a file of any kind the emulator reads: a seed file, Amplify outputs, a CloudFormation
template (each in one unit of work), or an exported state (imported, pools already there kept as
they are, so that a seed applied at every start changes nothing the second time)."""

from __future__ import annotations

from emulator.environments import KINDS, amplify, cloudformation, state
from emulator.environments.documents import DeclarationError, Document, kind_of, read
from emulator.environments.seed import Seeder


def apply_document(emulator, doc: Document, *, kind: str | None = None, progress: bool | None = None) -> list[str]:
    """Apply `doc` to the emulator's store; the lines of a summary to show. Raises
    DeclarationError (naming the file, line and field) having applied nothing."""
    kind = kind or kind_of(doc)
    if kind not in KINDS:
        raise DeclarationError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    if kind == "state":
        return state.import_state(emulator.store, doc, existing="keep", progress=progress)
    with emulator.unit_of_work(operation="Seed") as ctx:
        seeder = Seeder(ctx, doc, progress=progress)
        if kind == "amplify":
            amplify.apply(seeder, doc.data)
        elif kind == "cloudformation":
            cloudformation.apply(seeder, doc.data)
        else:
            seeder.apply_declaration(doc.data)
    return seeder.summary.lines()


def apply_file(emulator, path: str, *, kind: str | None = None, progress: bool | None = None) -> list[str]:
    return apply_document(emulator, read(path), kind=kind, progress=progress)
