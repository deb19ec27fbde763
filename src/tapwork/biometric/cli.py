"""`tapwork biometric`: the face service, and `tapwork biometric rekey`.

The group's own call (no subcommand) runs the service, as the image and the Deployment do.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from tapwork.config import Settings

app = typer.Typer(
    help="The face verification service (needs the `biometric` extra). Internal only.",
    invoke_without_command=True,
)
console = Console()


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option()] = "0.0.0.0",  # noqa: S104 - a container listens on all
    port: Annotated[int, typer.Option()] = 8100,
) -> None:
    """Run the face verification service (needs the `biometric` extra). Internal only."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from tapwork.biometric.server import create_service_app

    uvicorn.run(create_service_app(), host=host, port=port, access_log=False)


async def _rekey(settings: Settings, batch_size: int) -> int:
    from tapwork.biometric.client import BiometricClient
    from tapwork.biometric.errors import ServiceUnavailable
    from tapwork.biometric.rekey import rekey_all
    from tapwork.db import create_engine, create_sessionmaker

    engine = create_engine(settings, pool_size=1, max_overflow=0)
    client = BiometricClient(settings)
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("Re-sealing templates", total=None)
            outcome = await rekey_all(
                create_sessionmaker(engine),
                client,
                batch_size=batch_size,
                on_start=lambda total: progress.update(task, total=total),
                on_batch=lambda done: progress.advance(task, done),
            )
    except ServiceUnavailable as exc:
        console.print(f"[red]The face service at {settings.biometric_url}: {exc.message}[/red]")
        return 1
    finally:
        await client.aclose()
        await engine.dispose()
    console.print(
        f"[green]{outcome.resealed} template(s) re-sealed; every readable template is under "
        f"key {outcome.key_id}[/green]"
    )
    if outcome.unreadable:
        console.print(
            f"[red]{len(outcome.unreadable)} template(s) open with no key the service holds "
            "(add the old key to BIOMETRIC_PREVIOUS_KEYS and run again): "
            + ", ".join(str(u) for u in outcome.unreadable[:20])
            + "[/red]"
        )
        return 1
    return 0


@app.command()
def rekey(
    batch_size: Annotated[
        int, typer.Option(min=1, max=500, help="templates per transaction")
    ] = 200,
) -> None:
    """Re-seal every face template under the face service's current key (BIOMETRIC_KEY), so
    the keys in BIOMETRIC_PREVIOUS_KEYS can be dropped. Safe to interrupt and run again."""
    raise typer.Exit(asyncio.run(_rekey(Settings(), batch_size)))
