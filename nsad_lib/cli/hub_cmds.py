"""Hub commands: ``push``, ``pull``, ``lock`` and ``verify``.

The token comes from ``--token``, else ``HF_TOKEN``, else the stored ``hf auth login`` token; the
endpoint from ``--endpoint``, else ``HF_ENDPOINT`` (default: the real Hub). Failures raise
:class:`~nsad_lib.hub.api.HubError`, which the app turns into one line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from nsad_lib.cli._options import EndpointOpt, EntriesArg, RegistryOpt, TokenOpt


def _parse_weights(items: List[str]) -> dict[str, Path]:
    from nsad_lib.hub.api import HubError

    out: dict[str, Path] = {}
    for item in items:
        entry_id, sep, path = item.partition("=")
        if not sep or not entry_id or not path:
            raise HubError(f"--weights expects ID=PATH.safetensors, got {item!r}")
        out[entry_id] = Path(path)
    return out


def push_command(
    ids: EntriesArg,
    repo: Annotated[str, typer.Option(
        "--repo", metavar="OWNER/NAME", help="Hub repository (created when missing).")],
    private: Annotated[bool, typer.Option("--private", help="Create the repository as private.")] = False,
    message: Annotated[Optional[str], typer.Option("--message", "-m", help="Commit message.")] = None,
    weights: Annotated[Optional[List[str]], typer.Option(
        "--weights", metavar="ID=PATH", help="Trained parameters (.safetensors) for an id; repeatable.")] = None,
    registry: RegistryOpt = None,
    token: TokenOpt = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Publish entries to the Hub: files, index, model card and a tag per entry id."""
    from nsad_lib.cli._ids import registry_with, resolve
    from nsad_lib.hub.api import push_to_hub

    # every ID form; unknown ids and bad --weights fail before any network call
    resolved = [resolve(ref, registry, endpoint=endpoint, token=token) for ref in ids]
    result = push_to_hub([r.entry.id for r in resolved], repo, private=private, commit_message=message,
                         weights=_parse_weights(weights or []), registry=registry_with(resolved, registry),
                         token=token, endpoint=endpoint)
    state = "new commit" if result.committed else "unchanged, no new commit"
    typer.echo(f"{repo}@{result.commit} ({state}): {', '.join(result.ids)}")
    if result.tags_created:
        typer.echo(f"tags created: {', '.join(result.tags_created)}")


def pull_command(
    spec: Annotated[str, typer.Argument(
        metavar="OWNER/NAME[@REV]", help="Repository, optionally pinned to a tag, branch or commit.")],
    into: Annotated[Optional[Path], typer.Option(
        "--into", file_okay=False, help="Registry directory to write (default: the nsad-lib Hub cache).")] = None,
    ids: Annotated[Optional[List[str]], typer.Option("--id", help="Only these ids (or names); repeatable.")] = None,
    token: TokenOpt = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Download entries, verify every hash, and write them into a registry directory."""
    from nsad_lib.hub.api import parse_repo_spec, pull

    repo_id, revision = parse_repo_spec(spec)
    result = pull(repo_id, revision=revision, into=into, ids=ids or None, token=token, endpoint=endpoint)
    entries = f"{len(result.ids)} entr{'y' if len(result.ids) == 1 else 'ies'}"
    typer.echo(f"{repo_id}@{result.commit}: {entries} verified -> {result.directory}")
    for entry_id in result.ids:
        trained = " (+ trained parameters)" if result.weights_sha256[entry_id] else ""
        typer.echo(f"  {entry_id}  sha256 {result.sha256[entry_id][:16]}...{trained}")


def lock_command(
    refs: EntriesArg,
    file: Annotated[Path, typer.Option("--file", dir_okay=False, help="Lock file to update.")] = Path("nsad.lock"),
    registry: RegistryOpt = None,
    token: TokenOpt = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Pin entries (repository, commit, sha256) in a lock file."""
    from nsad_lib.hub.lockfile import lock

    for entry_id, record in lock(refs, file, registry=registry, token=token, endpoint=endpoint).items():
        where = f"{record.repo}@{record.commit}" if record.repo else "local registry"
        typer.echo(f"locked {entry_id}: {where}, sha256 {record.sha256[:16]}...")


def verify_command(
    file: Annotated[Path, typer.Option("--file", dir_okay=False, help="Lock file to check.")] = Path("nsad.lock"),
    registry: RegistryOpt = None,
) -> None:
    """Check every locked entry offline against the local copies."""
    from nsad_lib.hub.api import HubError
    from nsad_lib.hub.lockfile import read_lock, verify_lock

    problems = verify_lock(file, registry=registry)
    if problems:
        for problem in problems[1:]:
            typer.secho(f"error: {problem}", err=True, fg="red")
        more = f" ({len(problems) - 1} more above)" if len(problems) > 1 else ""
        raise HubError(f"{problems[0]}{more}")
    typer.echo(f"{file}: {len(read_lock(file))} locked entries verified")


def register(app: typer.Typer) -> None:
    """Add ``push``, ``pull``, ``lock`` and ``verify`` to the app."""
    app.command("push")(push_command)
    app.command("pull")(pull_command)
    app.command("lock")(lock_command)
    app.command("verify")(verify_command)
