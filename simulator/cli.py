"""``moesim``: a thin click CLI over the same functions the HTTP API calls."""

from __future__ import annotations

import logging
import os
import sys
import threading

import click

from .core.errors import ConfigError, MoesimError
from .core.settings import SETTINGS, Settings


class _Group(click.Group):
    """Turns our errors into one line per problem and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MoesimError as error:
            click.echo(f"error: {error.message}", err=True)
            for problem in error.errors:
                if problem.message != error.message or problem.path != error.path:
                    click.echo(f"  {problem.path}: {problem.message}", err=True)
            ctx.exit(1)


def _settings(**flags) -> Settings:
    return Settings.load(os.environ, {k: v for k, v in flags.items() if v is not None})


def _help(name: str) -> str:
    setting = next(s for s in SETTINGS if s.name == name)
    return f"{setting.help} [env {setting.env}; default {setting.default}]"


@click.group(cls=_Group)
@click.version_option(package_name="moesim")
def main() -> None:
    """moesim: a local MoEngage campaign simulator."""


def _setting_flags(command):
    """One ``--flag`` per declared setting, parsed by the setting's own parser."""
    for setting in reversed(SETTINGS):
        def convert(value, _param=None, _ctx=None, setting=setting):
            if value is None:
                return None
            try:
                return setting.parse(value)
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
        command = click.option("--" + setting.name.replace("_", "-"), setting.name,
                               callback=lambda ctx, param, value, convert=convert: convert(value),
                               help=_help(setting.name))(command)
    return command


@main.command()
@_setting_flags
@click.option("--snapshot", type=click.Path(dir_okay=False),
              help="Start from this snapshot (moesim export): it replaces the contents of --db; "
                   "fixtures are not loaded and the snapshot's clock resumes.")
def serve(snapshot: str | None, **flags) -> None:
    """Run the simulator (one process: the scheduler must not be shared)."""
    from werkzeug.serving import make_server

    from .app import base_url, bootstrap, create_app
    from .core.exposure import check_exposure
    from .services import snapshots
    from .ticker import Ticker

    settings = _settings(**flags)
    check_exposure(settings.host, settings.admin_token)  # before anything is written
    if snapshot:
        snapshots.restore_file(settings.db, snapshot)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(settings, start=False)
    server = make_server(settings.host, settings.port, app, threaded=True)
    base = f"http://{settings.host}:{server.server_port}"
    default_key = settings.data_api_key == Settings().data_api_key
    click.echo(f"moesim serving on {base}  (database {os.path.abspath(settings.db)})")
    if snapshot:
        click.echo(f"  snapshot   {os.path.abspath(snapshot)} (copied into the database)")
    click.echo(f"  Data API   {base}/v1/customer/{settings.workspace_id}  "
               f"(Basic auth: {settings.workspace_id} / "
               f"{settings.data_api_key if default_key else '<MOESIM_DATA_API_KEY>'})")
    click.echo(f"  users      {base}/api/users")
    click.echo(f"  campaigns  {base}/api/campaigns   deliveries {base}/_sim/deliveries")
    click.echo(f"  sink       {base}/_sim/sink/<name>   records at {base}/_sim/sinks/<name>")
    click.echo(f"  readiness  {base}/_sim/ready")
    clock_now = app.extensions["moesim"].clock
    click.echo(f"  clock      {clock_now.mode} {clock_now.now().isoformat()}  ({base}/_sim/clock)")
    sys.stdout.flush()
    ctx = app.extensions["moesim"]
    app.extensions["moesim.base_url"] = base_url(settings, server.server_port)
    workspaces = app.extensions["moesim.workspaces"]
    ticker = Ticker(workspaces.all, ctx.woken)

    def start() -> None:
        bootstrap(ctx, app.extensions["moesim.is_new"],
                  base_url(settings, server.server_port))
        ticker.start()

    threading.Thread(target=start, name="moesim-bootstrap", daemon=True).start()
    _stop_on_signals()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        ticker.stop()
        workspaces.close()
        ctx.close()


def _stop_on_signals() -> None:
    """SIGTERM (a process manager, ``docker stop``) and SIGHUP (a closed terminal) stop the
    server as Ctrl-C does: the ``finally`` of ``serve`` closes the stores, so the WAL is
    truncated and the reset point removed."""
    import signal

    def stop(signum, _frame):
        for name in ("SIGTERM", "SIGHUP"):  # a second signal must not cut the clean-up short
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


@main.command("import")
@click.argument("kind", type=click.Choice(["users", "events"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", help=_help("db"))
@click.option("--skip-invalid", is_flag=True,
              help="Store the valid rows and report the invalid ones (default: store nothing "
                   "if any row is invalid).")
def import_(kind: str, file: str, db: str | None, skip_invalid: bool) -> None:
    """Import users or events from FILE (.json, .jsonl or .csv) with Data API semantics."""
    from .app import create_context
    from .services import importer

    ctx, _ = create_context(_settings(db=db))
    try:
        with click.progressbar(length=os.path.getsize(file), label=f"importing {kind}",
                               file=sys.stderr) as bar:
            report = importer.import_file(ctx, kind, file, skip_invalid=skip_invalid,
                                          progress=bar.update)
        ctx.store.analyze()
    finally:
        ctx.close()
    result = report.result
    click.echo(f"{report.rows} row(s): {result.users_created} user(s) created, "
               f"{result.users_updated} updated, {result.users_skipped} skipped "
               f"(update_existing_only), {result.events} event(s)")
    if report.rejected_total:
        click.echo(f"{report.rejected_total} invalid row(s) skipped:", err=True)
        for problem in report.rejected:
            click.echo(f"  {problem.path}: {problem.message}", err=True)
        sys.exit(1)


_TARGET = [click.option("--db", help="Offline: the database file (no server may be using it "
                                   "for import-snapshot) [default: MOESIM_DB or moesim.db]"),
           click.option("--url", help="A running server (FILE is a path on the server's "
                                      "machine, written or read by the server).")]


def _target(command):
    for option in reversed(_TARGET):
        command = option(command)
    return command


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_target
def export(file: str, db: str | None, url: str | None) -> None:
    """Write a snapshot of the database to FILE, atomically (a failure leaves FILE as it was)."""
    from .services import snapshots

    if db and url:
        raise ConfigError("give --db or --url, not both", path="url")
    if url:
        answer = _control(url, "POST", "/_sim/snapshot", {"path": os.path.abspath(file)})
        size = answer["bytes"]
    else:
        size = snapshots.export_file(_settings(db=db).db, file)
    click.echo(f"snapshot written to {file} ({size} bytes)")


@main.command("import-snapshot")
@click.argument("file", type=click.Path(dir_okay=False))
@_target
def import_snapshot(file: str, db: str | None, url: str | None) -> None:
    """Replace all data (users, events, campaigns, jobs, connections, sinks, clock) with the
    snapshot FILE; it is checked first, and nothing changes if it is not a moesim snapshot."""
    from .services import snapshots

    if db and url:
        raise ConfigError("give --db or --url, not both", path="url")
    if url:
        answer = _control(url, "POST", "/_sim/snapshot/restore",
                          {"path": os.path.abspath(file)})
        click.echo(f"restored {file}; clock {answer['mode']} {answer['now']}")
    else:
        target = _settings(db=db).db
        snapshots.restore_file(target, file)
        click.echo(f"restored {file} into {target}")


@main.group()
def clock() -> None:
    """Read or move the clock of a running server."""


def _control(url: str, method: str, path: str, payload: dict | None = None) -> dict:
    import json

    from .core.http import OutboundRequest
    from .transport import Transport

    body = json.dumps(payload).encode() if payload is not None else None
    headers = (("Content-Type", "application/json"),) if body else ()
    token = _settings().admin_token  # a server beyond loopback asks for it (docs/security.md)
    if token:
        headers += (("Authorization", f"Bearer {token}"),)
    with Transport(timeout_s=600, concurrency=1) as transport:
        result = transport.send(OutboundRequest(method, url.rstrip("/") + path, headers, body))
    if result.status is None:
        raise ConfigError(f"cannot reach {url}: {result.error} {result.detail}".strip(),
                          path="url")
    answer = json.loads(result.body or b"{}")
    if result.status >= 400:
        raise ConfigError(f"{result.status}: {answer.get('message', answer)}", path="url")
    return answer


_URL = click.option("--url", default="http://127.0.0.1:5055", show_default=True,
                    help="The running server.")


@clock.command("show")
@_URL
def clock_show(url: str) -> None:
    """Print the clock's mode and time."""
    answer = _control(url, "GET", "/_sim/clock")
    click.echo(f"{answer['mode']} {answer['now']}")


@clock.command("advance")
@click.argument("duration")
@_URL
def clock_advance(duration: str, url: str) -> None:
    """Advance a virtual clock by DURATION (90s, 15m, 2h, 3d) or to an ISO time, running what
    falls due."""
    from .core.timestamps import parse_iso
    from .services.clock import parse_duration

    payload = {"to": duration} if parse_iso(duration) else {
        "seconds": parse_duration(duration).total_seconds()}
    answer = _control(url, "POST", "/_sim/clock/advance", payload)
    click.echo(f"{answer['from']} -> {answer['to']}: {len(answer['ran'])} job(s) ran")
    for job in answer["ran"]:
        click.echo(f"  {job['kind']} {job.get('campaign_id') or ''} {job['status']}")


@clock.command("set")
@click.argument("mode", type=click.Choice(["system", "virtual"]))
@click.argument("when", required=False)
@_URL
def clock_set(mode: str, when: str | None, url: str) -> None:
    """Switch to system time, or freeze (at WHEN, advancing to it)."""
    answer = _control(url, "POST", "/_sim/clock",
                      {"mode": mode, **({"now": when} if when else {})})
    click.echo(f"{answer['mode']} {answer['now']}")


@main.command()
def openapi() -> None:
    """Print the OpenAPI 3.1 document of the HTTP API (what /openapi.json serves)."""
    import json

    from .api import openapi_document
    click.echo(json.dumps(openapi_document(), indent=2, ensure_ascii=False))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Validate connector config FILEs offline, as an upload would (exit 1 on any error)."""
    import json

    from .core.connectors import validate_config

    failed = False
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            config = json.loads(text)
        except OSError as exc:
            click.echo(f"{path}: {exc.strerror}")
            failed = True
            continue
        except ValueError as exc:
            click.echo(f"{path}: (root): not JSON: {exc}")
            failed = True
            continue
        result = validate_config(config, text)
        for problem in result.errors:
            click.echo(f"{_where(path, problem)}: {problem.path}: {problem.message}")
        for problem in result.warnings:
            click.echo(f"{_where(path, problem)}: {problem.path}: warning: {problem.message}",
                       err=True)
        failed = failed or not result.ok
        if result.ok:
            click.echo(f"{path}: ok", err=True)
    sys.exit(1 if failed else 0)


def _where(path: str, problem) -> str:
    """``FILE:LINE`` (compilers' form, which editors jump to), or ``FILE`` with no line."""
    return f"{path}:{problem.line}" if problem.line is not None else path


@main.group()
def scenario() -> None:
    """Scenario files (YAML or JSON; schema docs/scenario.schema.json)."""


@scenario.command("run")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--seed", type=int, help="Seed every scenario with N (default: the scenario's "
                                       "seed, else 0).")
@click.option("--log", "log_dir", type=click.Path(file_okay=False),
              help="Write each scenario's delivery log, normalized, to DIR/<name>.jsonl.")
def scenario_run(paths: tuple[str, ...], junit: str | None, seed: int | None,
                 log_dir: str | None) -> None:
    """Run scenario files (and the scenario files in directories), each in a simulator of its
    own; exit 1 if any fails, 2 if any file is invalid."""
    from .scenarios import run_paths

    sys.exit(run_paths(list(paths), seed=seed, junit=junit, log_dir=log_dir, echo=click.echo))


@scenario.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def scenario_validate(paths: tuple[str, ...]) -> None:
    """Check scenario files without running them: FILE:LINE: PATH: message (exit 2)."""
    from .core.scenario_files import ScenarioInvalid
    from .scenarios import load

    try:
        scenarios = load(list(paths))
    except ScenarioInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem))
        sys.exit(2)
    click.echo(f"{len(scenarios)} scenario file(s) ok")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5056, show_default=True, type=int)
@click.option("--seed", type=int, help=_help("seed"))
@click.option("--sink-max-records", type=click.IntRange(min=1), help=_help("sink_max_records"))
def sink(host: str, port: int, seed: int | None, sink_max_records: int | None) -> None:
    """Run the capture sink alone, as a fast standalone server."""
    from .sinkserver import run

    settings = _settings(seed=seed, sink_max_records=sink_max_records)
    run(host, port, settings.seed, settings.sink_max_records)


if __name__ == "__main__":  # pragma: no cover
    main()
