"""The ``grade`` command: a thin Click layer over :mod:`grader.api`.

Commands live in their own modules and are imported only when used
(:class:`LazyGroup`), so ``grade --help`` and ``grade list`` never import
torch. Errors are raised, not printed: :class:`grader.errors.GradeError`
is caught once, here, and ends the command with ``error: <message>`` and its
exit code.

Exit codes: 0 every case passed; 1 some case did not pass; 2 usage or spec
error (bad option, unknown assignment, unreadable submission, broken spec);
130 interrupted. Bare ``grade`` (or ``grade PATH``) behaves like ``grade check``.
"""

from __future__ import annotations

import importlib
import sys

import click

from grader import __version__
from grader.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, GradeError

__all__ = ["main", "run", "exit_code", "LazyGroup", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "kit_notice"]

#: command name -> "module:attribute"
COMMANDS = {
    "check": "grader.cli.check:check_cmd",
    "list": "grader.cli.listing:list_cmd",
    "lint-spec": "grader.cli.lint:lint_cmd",
    "batch": "grader.cli.batch:batch_cmd",
    "release": "grader.cli.release:release_cmd",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; its unknown first word is ``check``'s PATH.

    Also the one place where :class:`~grader.errors.GradeError` becomes
    ``error: ...`` on stderr and the error's exit code.
    """

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.lazy and args[0] not in self.commands
                        and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GradeError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
def main() -> None:
    """Grade hand-written deep-learning implementations against reference solutions."""


def exit_code(result, *, min_score: float | None = None) -> int:
    """0 when the run passes, else 1: with ``min_score``, passing means score >= min_score;
    without it, every case must pass."""
    if min_score is not None:
        return EXIT_OK if result.score + 1e-9 >= min_score else EXIT_FAILED
    return EXIT_OK if result.passed else EXIT_FAILED


def kit_notice(result) -> str | None:
    """The student kit's reminder that hidden cases are graded later (see :func:`grader.report.format.kit_notice`)."""
    from grader.report.format import kit_notice as notice

    return notice(result)


def run() -> None:
    """Console-script entry point: ``main`` then a fast exit.

    After the reports are written and flushed, the process ends with
    ``os._exit`` instead of tearing down torch's modules one by one (which
    takes about half a second and changes nothing on disk).
    """
    import os

    try:
        main(standalone_mode=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    try:
        if "grader.api" in sys.modules:
            from grader.api import close_worker

            close_worker()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
