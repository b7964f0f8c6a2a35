"""``moesim``: a thin click CLI over the same functions the HTTP API calls."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading

import click

from .core.errors import ConfigError, MoesimError
from .core.settings import SETTINGS, Settings
from .server import DEFAULT as DEFAULT_SERVER
from .server import SERVERS


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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
    """Settings from the environment and flags; a bad environment value is a usage error
    (exit 2), raised before any file is touched."""
    try:
        return Settings.load(os.environ, {k: v for k, v in flags.items() if v is not None})
    except ConfigError as error:
        raise click.UsageError(error.message) from None


def _help(name: str) -> str:
    setting = next(s for s in SETTINGS if s.name == name)
    default = setting.default if setting.default != "" else "none"
    return f"{setting.help} [env {setting.env}; default {default}]"


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(None, "-V", "--version", package_name="moesim")
def main() -> None:
    """moesim: a local MoEngage campaign simulator.

    Start one with `moesim serve`; the verbs below talk to it (`--url`, default
    http://127.0.0.1:5055) or work offline on files.
    """
    # moesim's log lines are the server's console (`moesim serve` sets it up); other commands
    # report through their own output, not through logging's last-resort stderr handler
    moesim_log = logging.getLogger("moesim")
    if not any(isinstance(h, logging.NullHandler) for h in moesim_log.handlers):
        moesim_log.addHandler(logging.NullHandler())


class _SettingType(click.ParamType):
    """A setting's own parser as a click type, named after its kind in --help."""

    def __init__(self, setting):
        self.setting = setting
        self.name = {bool: "boolean", int: "integer", float: "number"}.get(
            type(setting.default), "text")

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.setting.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _setting_flags(command):
    """One ``--flag`` per declared setting, typed, parsed by the setting's own parser."""
    for setting in reversed(SETTINGS):
        kind = click.Choice(setting.choices, case_sensitive=False) if setting.choices \
            else _SettingType(setting)
        command = click.option("--" + setting.name.replace("_", "-"), setting.name, type=kind,
                               help=_help(setting.name))(command)
    return command


# settings that only shape a new database: an existing one keeps what it has
_NEW_DATABASE_ONLY = ("clock", "start_time", "fixtures")


def _not_applicable(settings: Settings, flags: dict) -> list[str]:
    """The new-database-only settings given (flag or environment) for an existing database."""
    if not os.path.exists(settings.db):
        return []
    given = [name for name in _NEW_DATABASE_ONLY
             if flags.get(name) is not None or f"MOESIM_{name.upper()}" in os.environ]
    return [f"--{name.replace('_', '-')} {getattr(settings, name)!s}" for name in given]


@main.command()
@_setting_flags
@click.option("--snapshot", "--import", "snapshot", type=click.Path(dir_okay=False),
              help="Start from this snapshot (moesim export): it replaces the contents of --db; "
                   "fixtures are not loaded and the snapshot's clock resumes.")
@click.option("--export-on-exit", type=click.Path(dir_okay=False),
              help="Write a snapshot of the database to this file when the server stops.")
@click.option("--watch", type=click.Path(exists=True, file_okay=False),
              help="Upload the connector configs (*.json) in this folder at start, and a new "
                   "version whenever one changes.")
@click.option("--watch-app", default="My App", show_default=True,
              help="The Connected App --watch uploads into (created if missing).")
@click.option("--server", "server_kind", type=click.Choice(SERVERS), default=DEFAULT_SERVER,
              show_default=True,
              help="The HTTP server (werkzeug: Flask's development server, for comparison).")
def serve(snapshot: str | None, export_on_exit: str | None, watch: str | None, watch_app: str,
          server_kind: str, **flags) -> None:
    """Run the simulator.

    One process (the scheduler must not be shared); Ctrl-C or SIGTERM stops it once the
    requests in flight are answered."""
    from . import logs

    from .core.exposure import check_exposure

    settings = _settings(**flags)
    check_exposure(settings.host, settings.admin_token)  # before anything is written
    if snapshot and not os.path.isfile(snapshot):
        raise click.BadParameter(f"no such file: {snapshot}", param_hint="'--import'")
    stale = [] if snapshot else _not_applicable(settings, flags)
    logs.configure(settings.log_level, settings.log_format,
                   colour=None if not os.environ.get("NO_COLOR") else False)
    _serve(settings, server_kind, snapshot=snapshot, export_on_exit=export_on_exit,
           watch=watch, watch_app=watch_app, stale=stale)


def _serve(settings: Settings, server_kind: str, *, snapshot: str | None = None,
           export_on_exit: str | None = None, watch: str | None = None,
           watch_app: str = "My App", stale: list[str] = ()) -> None:
    import signal

    from . import logs
    from . import server as http_server
    from .app import base_url, bootstrap, create_app
    from .services import snapshots
    from .ticker import Ticker

    if snapshot:
        snapshots.restore_file(settings.db, snapshot)
    app = create_app(settings, start=False)
    app.wsgi_app = logs.AccessLog(app.wsgi_app)
    server = http_server.make(server_kind, app, settings.host, settings.port)
    base = f"http://{settings.host}:{server.port}"
    ctx = app.extensions["moesim"]
    default_key = settings.data_api_key == Settings().data_api_key
    click.echo(f"moesim serving on {base}  (database {os.path.abspath(settings.db)})")
    if snapshot:
        click.echo(f"  snapshot   {os.path.abspath(snapshot)} (copied into the database)")
    click.echo(f"  Data API   {base}/v1/customer/{settings.workspace_id}  "
               f"(Basic auth: {settings.workspace_id} / "
               f"{settings.data_api_key if default_key else '<MOESIM_DATA_API_KEY>'})")
    click.echo(f"  API        {base}/api   control {base}/_sim")
    click.echo(f"  campaigns  {base}/api/campaigns   deliveries {base}/_sim/deliveries")
    click.echo(f"  inbox      {base}/_sim/sinks   (what the built-in sink received; "
               f"partners send to {base}/_sim/sink/<name>/...)")
    click.echo(f"  clock      {ctx.clock.mode} {ctx.clock.now().isoformat()}  ({base}/_sim/clock)")
    if export_on_exit:
        click.echo(f"  on exit    snapshot to {os.path.abspath(export_on_exit)}")
    if watch:
        click.echo(f"  watching   {os.path.abspath(watch)}/*.json (connector configs, "
                   f"app {watch_app!r})")
    click.echo("  stop       Ctrl-C (requests in flight finish)")
    sys.stdout.flush()
    log = logging.getLogger("moesim")
    if stale:  # after the banner, whose first line names the address
        log.warning("%s: not applied, %s already exists and keeps its own (use a new --db, "
                    "or `moesim clock set` for the clock)", ", ".join(stale), settings.db)
    app.extensions["moesim.base_url"] = base_url(settings, server.port)
    workspaces = app.extensions["moesim.workspaces"]
    ticker = Ticker(workspaces.all, ctx.woken)

    watcher = None
    if watch:
        from .watch import ConfigWatcher
        watcher = ConfigWatcher(watch, base_url(settings, server.port), watch_app)

    def start() -> None:
        bootstrap(ctx, app.extensions["moesim.is_new"], base_url(settings, server.port))
        ticker.start()
        log.info("ready")
        if watcher is not None:
            watcher.start()

    stopping = threading.Thread(target=server.stop, name="moesim-stop")

    def on_signal(signum, _frame) -> None:
        if stopping.ident is not None:
            raise KeyboardInterrupt  # asked twice: stop waiting for requests in flight
        log.info("stopping: no new requests; waiting for the ones in flight")
        stopping.start()

    # Ctrl-C, SIGTERM (a process manager, ``docker stop``) and SIGHUP (a closed terminal)
    stop_signals = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                    if hasattr(signal, name)]
    for sig in stop_signals:
        signal.signal(sig, on_signal)
    threading.Thread(target=start, name="moesim-bootstrap", daemon=True).start()
    try:
        server.serve_forever()
        if stopping.ident is not None:
            stopping.join()
    except KeyboardInterrupt:
        pass
    finally:
        # the clean-up closes the stores (the WAL is truncated, the reset point removed): a
        # process manager's second signal must not cut it short
        for sig in stop_signals:
            if sig != signal.SIGINT:
                signal.signal(sig, signal.SIG_IGN)
        if watcher is not None:
            watcher.stop()
        ticker.stop()
        workspaces.close()
        if export_on_exit:
            written = snapshots.export(ctx, export_on_exit)
            log.info("snapshot written to %s (%d bytes)", written["path"], written["bytes"])
        ctx.close()
        log.info("stopped")


@main.command("import")
@click.argument("kind", type=click.Choice(["users", "events"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", help=_help("db"))
@click.option("--skip-invalid", is_flag=True,
              help="Store the valid rows and report the invalid ones (default: store nothing "
                   "if any row is invalid).")
def import_(kind: str, file: str, db: str | None, skip_invalid: bool) -> None:
    """Import users or events from a file.

    FILE is .json, .jsonl or .csv; rows are read with Data API semantics."""
    from . import progress
    from .app import create_context
    from .services import importer

    ctx, _ = create_context(_settings(db=db))
    try:
        with progress.bar(f"importing {kind}", os.path.getsize(file)) as advance:
            report = importer.import_file(ctx, kind, file, skip_invalid=skip_invalid,
                                          progress=advance)
        ctx.store.analyze()
    finally:
        ctx.close()
    result = report.result
    skipped = (f", {result.users_skipped} skipped (marked update-only, and no such user)"
               if result.users_skipped else "")
    click.echo(f"{report.rows} row(s): {result.users_created} user(s) created, "
               f"{result.users_updated} updated{skipped}, {result.events} event(s)")
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
    """Write a snapshot of the database to FILE.

    Atomically: a failure leaves FILE as it was."""
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
    """Replace all data with a snapshot FILE.

    Users, events, campaigns, jobs, connections, sinks and the clock are replaced; FILE is
    checked first, and nothing changes if it is not a moesim snapshot."""
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
    from .cli_remote import Remote

    remote = Remote(url)
    try:
        return remote.send(method, path, payload)
    finally:
        remote.close()


_URL = click.option("--url", envvar="MOESIM_URL", default="http://127.0.0.1:5055",
                    show_default=True, help="The running simulator [env MOESIM_URL].")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the server's JSON answer.")


def _print(as_json: bool, answer: dict, *lines: str) -> None:
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    for line in lines:
        click.echo(line)


def _ran(answer: dict) -> list[str]:
    return [f"  {job['kind']} {job.get('campaign_id') or ''} {job['status']}"
            for job in answer["ran"]]


@clock.command("show")
@_URL
@_JSON
def clock_show(url: str, as_json: bool) -> None:
    """Print the clock's mode and time."""
    answer = _control(url, "GET", "/_sim/clock")
    _print(as_json, answer, f"{answer['mode']} {answer['now']}")


@clock.command("advance")
@click.argument("duration")
@_URL
@_JSON
def clock_advance(duration: str, url: str, as_json: bool) -> None:
    """Advance a virtual clock by DURATION (90s, 15m, 2h, 3d) or to an ISO time, running what
    falls due."""
    from .core.timestamps import parse_iso
    from .services.clock import parse_duration

    from . import progress
    from .cli_remote import RemoteError

    payload = {"to": duration} if parse_iso(duration) else {
        "seconds": parse_duration(duration).total_seconds()}
    try:
        with progress.waiting(f"advancing the clock by {duration}" if "seconds" in payload
                              else f"advancing the clock to {duration}"):
            answer = _control(url, "POST", "/_sim/clock/advance", payload)
    except RemoteError as error:
        if error.status == 409 and "not virtual" in error.message:
            raise ConfigError("the clock runs in system time, which cannot be advanced: "
                              "freeze it first with `moesim clock set virtual`",
                              path="clock") from None
        raise
    _print(as_json, answer,
           f"{answer['from']} -> {answer['to']}: {len(answer['ran'])} job(s) ran", *_ran(answer))


@clock.command("set")
@click.argument("mode", type=click.Choice(["system", "virtual"]))
@click.argument("when", required=False)
@_URL
@_JSON
def clock_set(mode: str, when: str | None, url: str, as_json: bool) -> None:
    """Switch to system time, or freeze (at WHEN, advancing to it)."""
    answer = _control(url, "POST", "/_sim/clock",
                      {"mode": mode, **({"now": when} if when else {})})
    _print(as_json, answer, f"{answer['mode']} {answer['now']}")


@clock.command("run-due")
@_URL
@_JSON
def clock_run_due(url: str, as_json: bool) -> None:
    """Run what is due now on the server's clock (without moving it)."""
    from . import progress

    with progress.waiting("running due work"):
        answer = _control(url, "POST", "/_sim/run-due")
    _print(as_json, answer, f"{len(answer['ran'])} job(s) ran", *_ran(answer))


@main.command(short_help="Print the OpenAPI document of the HTTP API.")
def openapi() -> None:
    """Print the OpenAPI 3.1 document of the HTTP API (what /openapi.json serves)."""
    import json

    from .api import openapi_document
    click.echo(json.dumps(openapi_document(), indent=2, ensure_ascii=False))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Validate connector config files offline.

    Each FILE is checked as an upload would check it; exit 1 on any error."""
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
            click.echo(f"{path}: ok")
    sys.exit(1 if failed else 0)


def _where(path: str, problem) -> str:
    """``FILE:LINE`` (compilers' form, which editors jump to), or ``FILE`` with no line."""
    return f"{path}:{problem.line}" if problem.line is not None else path


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def init(directory: str, force: bool) -> None:
    """Scaffold a partner's working folder.

    A connector config that validates, a connection and a campaign for `moesim serve`, a
    scenario and a pytest test using the plugin; DIRECTORY/README.md says how to run each."""
    from .scaffold import write

    for path in write(directory, force=force):
        click.echo(f"  wrote {path}")
    click.echo(f"next: cd {directory} && moesim scenario run scenario.yaml && pytest")


@main.group()
def scenario() -> None:
    """Run or check scenario files.

    YAML or JSON; the schema is docs/scenario.schema.json."""


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
    import re
    import time

    from .scenarios import run_paths

    began = time.monotonic()

    def echo(line: str) -> None:
        """A scenario's result line gains the rate so far and the time left."""
        done = re.match(r"\[(\d+)/(\d+)\] ", line)
        if done:
            number, total = int(done.group(1)), int(done.group(2))
            elapsed = time.monotonic() - began
            if number < total:
                line += (f"  [{number / elapsed:.1f} scenario(s)/s, "
                         f"~{elapsed / number * (total - number):.0f} s left]")
        click.echo(line)

    sys.exit(run_paths(list(paths), seed=seed, junit=junit, log_dir=log_dir, echo=echo))


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


def _register() -> None:
    from .cli_remote import register

    register(main)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
