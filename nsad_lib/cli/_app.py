"""The typer application and the shared error handling of every command."""

from __future__ import annotations

import sys
import warnings
from typing import Optional

import typer

from nsad_lib import __version__

app = typer.Typer(
    name="nsad-lib",
    help="Discovered activation functions: registry, discovery, checks, Hub and reproduction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"nsad-lib {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """nsad-lib: discovered activation functions for PyTorch."""


_registered = False
_DEFAULT_SHOWWARNING = warnings.showwarning


def _register_commands() -> None:
    """Add every command module's commands once (``main`` may run many times in one process).

    One style for every group: a module ``nsad_lib/cli/<group>_cmd(s).py`` defines its commands as
    top-level functions whose parameters use the shared aliases of :mod:`nsad_lib.cli._options`,
    and a ``register(app)`` that adds them; a new module is one more name in the tuple below
    (the order of ``--help``).
    """
    global _registered
    if _registered:
        return
    _registered = True
    from nsad_lib.cli import bench_cmd, check_cmd, discover_cmd, hub_cmds, registry_cmds, reproduce_cmd

    for module in (registry_cmds, reproduce_cmd, discover_cmd, check_cmd, hub_cmds, bench_cmd):
        module.register(app)


def main(argv: Optional[list[str]] = None) -> None:
    """Console-script entry point: user errors exit 2 with one clear line, no traceback."""
    _register_commands()
    with warnings.catch_warnings():  # restores showwarning afterwards (main may run many times)
        warnings.showwarning = _show_warning
        _run(argv)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]
    """The library's warnings (``UserWarning`` and subclasses) as one ``warning:`` line, no source path."""
    if issubclass(category, UserWarning):
        typer.secho(f"warning: {message}", err=True, fg="yellow")
    else:
        _DEFAULT_SHOWWARNING(message, category, filename, lineno, file, line)


def _run(argv: Optional[list[str]]) -> None:
    from nsad_lib.errors import NsadError

    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except NsadError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(2)
    except OSError as exc:  # a path the user named cannot be read or written (permissions, a file for a folder, ...)
        if exc.filename is None:
            raise
        from nsad_lib.util.os_errors import describe_os_error

        typer.secho(f"error: {describe_os_error(exc)}", err=True, fg="red")
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors (typer vendors its own click)
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "NoArgsIsHelpError" in names:  # a group called without a command: its help
            exc.show()  # type: ignore[attr-defined]
            sys.exit(2)
        if "ClickException" in names:
            typer.secho(f"error: {_usage_line(exc)}", err=True, fg="red")
            sys.exit(2)
        if "Abort" in names:
            sys.exit(1)
        raise


def _usage_line(exc: Exception) -> str:
    """A click error as one line, pointing at the command's ``--help`` (click prints four)."""
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return message
    return f"{message} (see '{ctx.command_path} --help')"
