"""The catalog: the assignments the grader knows, and what grading one of their cases needs.

Two implementations share the :class:`Catalog` protocol: the project's
(:class:`grader.catalog.project.ProjectCatalog`: specs and references, every
instance computed here) and the student kit's
(:class:`grader.kit.catalog.KitCatalog`: visible instances shipped as data).
The engine sees only the protocol.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

__all__ = ["Catalog"]


@runtime_checkable
class Catalog(Protocol):
    """What the engine, reports and release need from a set of assignments.

    Attributes:
        kind: ``"project"`` (specs and references at hand) or ``"kit"`` (shipped data).
        reference_dir: the folder student code must never read (references, or the kit's data).
        assignments: the specs, sorted by their ``position``.
        hidden_salt: secret mixed into hidden cases' seeds ("" in a kit).
        kit_info: the kit's version and hidden-case counts, or None in the project.
    """

    kind: Literal["project", "kit"]
    reference_dir: str
    assignments: tuple
    hidden_salt: str
    kit_info: dict | None

    @property
    def ids(self) -> tuple[str, ...]: ...

    def get(self, id: str):
        """The assignment ``id``; raises :class:`grader.errors.SpecError` for an unknown id."""

    def instances(self, assignment, function, *, include_hidden: bool = True, submission_key: str = "") -> list:
        """The graded instances of ``function`` (:class:`grader.catalog.instances.Instance`), in case order."""

    def arg_names(self, assignment, function) -> list[str]:
        """The function's parameter names, as the contract spells them."""

    def secret_roots(self) -> tuple[str, ...]:
        """Folders whose code must never be loaded into a process student code runs in."""
