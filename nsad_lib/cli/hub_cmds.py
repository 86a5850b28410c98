"""Hub commands: ``push``, ``pull``, ``lock`` and ``verify``.

The token comes from ``HF_TOKEN`` or the stored ``hf auth login`` token, the endpoint from
``HF_ENDPOINT`` (default: the real Hub). Failures raise :class:`~nsad_lib.hub.api.HubError`,
which the app turns into one line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from nsad_lib.cli._ids import registry_option


def _parse_weights(items: List[str]) -> dict[str, Path]:
    from nsad_lib.hub.api import HubError

    out: dict[str, Path] = {}
    for item in items:
        entry_id, sep, path = item.partition("=")
        if not sep or not entry_id or not path:
            raise HubError(f"--weights expects ID=PATH.safetensors, got {item!r}")
        out[entry_id] = Path(path)
    return out


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""

    @app.command("push")
    def push_cmd(
        ids: List[str] = typer.Argument(..., metavar="ID...", help="Entries to publish: ID, NAME (latest version) or hf://OWNER/REPO/ID\\[@REVISION]."),
        repo: str = typer.Option(..., "--repo", metavar="OWNER/NAME", help="Hub repository (created when missing)."),
        private: bool = typer.Option(False, "--private", help="Create the repository as private."),
        message: Optional[str] = typer.Option(None, "--message", "-m", help="Commit message."),
        weights: List[str] = typer.Option([], "--weights", metavar="ID=PATH", help="Trained parameters (.safetensors) for an id; repeatable."),
        registry: Optional[List[Path]] = registry_option(),
    ) -> None:
        """Publish entries to the Hub: files, index, model card and a tag per entry id."""
        from nsad_lib.cli._ids import registry_with, resolve
        from nsad_lib.hub.api import push_to_hub

        resolved = [resolve(ref, registry) for ref in ids]  # every ID form; unknown ids fail before any network call
        result = push_to_hub([r.entry.id for r in resolved], repo, private=private, commit_message=message,
                             weights=_parse_weights(weights), registry=registry_with(resolved, registry))
        state = "new commit" if result.committed else "unchanged, no new commit"
        typer.echo(f"{repo}@{result.commit} ({state}): {', '.join(result.ids)}")
        if result.tags_created:
            typer.echo(f"tags created: {', '.join(result.tags_created)}")

    @app.command("pull")
    def pull_cmd(
        spec: str = typer.Argument(..., metavar="OWNER/NAME[@REV]", help="Repository, optionally pinned to a tag, branch or commit."),
        into: Optional[Path] = typer.Option(None, "--into", file_okay=False, help="Registry directory to write (default: the nsad-lib Hub cache)."),
        ids: List[str] = typer.Option([], "--id", help="Only these ids (or names); repeatable."),
    ) -> None:
        """Download entries, verify every hash, and write them into a registry directory."""
        from nsad_lib.hub.api import parse_repo_spec, pull

        repo_id, revision = parse_repo_spec(spec)
        result = pull(repo_id, revision=revision, into=into, ids=ids or None)
        typer.echo(f"{repo_id}@{result.commit}: {len(result.ids)} entr{'y' if len(result.ids) == 1 else 'ies'} verified -> {result.directory}")
        for entry_id in result.ids:
            trained = " (+ trained parameters)" if result.weights_sha256[entry_id] else ""
            typer.echo(f"  {entry_id}  sha256 {result.sha256[entry_id][:16]}...{trained}")

    @app.command("lock")
    def lock_cmd(
        refs: List[str] = typer.Argument(..., metavar="ID|hf://OWNER/REPO/ID[@REV]...", help="Entries to pin."),
        file: Path = typer.Option(Path("nsad.lock"), "--file", dir_okay=False, help="Lock file to update."),
        registry: Optional[List[Path]] = registry_option(),
    ) -> None:
        """Pin entries (repository, commit, sha256) in a lock file."""
        from nsad_lib.hub.lockfile import lock

        for entry_id, record in lock(refs, file, registry=registry).items():
            where = f"{record.repo}@{record.commit}" if record.repo else "local registry"
            typer.echo(f"locked {entry_id}: {where}, sha256 {record.sha256[:16]}...")

    @app.command("verify")
    def verify_cmd(
        file: Path = typer.Option(Path("nsad.lock"), "--file", dir_okay=False, help="Lock file to check."),
        registry: Optional[List[Path]] = registry_option(),
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
