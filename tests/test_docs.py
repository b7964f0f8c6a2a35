"""The README is the truth: its settings table, routes and commands match the code."""

import re
from pathlib import Path

from simulator.core.settings import SETTINGS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_settings_table_matches_declaration():
    rows = re.findall(r"^\| (\w+) \| `(MOESIM_\w+)` \| `([^`]*)` \| (.+) \|$", README, re.M)
    assert [(n, e, d, h) for n, e, d, h in rows] == [
        (s.name, s.env, str(s.default), s.help) for s in SETTINGS]


def test_every_route_is_documented(app):
    documented = set(re.findall(r"`(/[^`?]*)", README))
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule)
        path = path.replace("<app_id>", "<workspace_id>").replace("<rest>", "<path>")
        assert any(path == d or path in d or d.startswith(path.split("<")[0]) and
                   path.split("<")[0] != "/" for d in documented), path


def test_ci_runs_the_readme_test_command():
    command = re.search(r"Install and pass the whole test suite.*?```sh\n(.+?)\n```", README,
                        re.S).group(1)
    assert command in (ROOT / ".ci" / "run").read_text()


def test_procfile_runs_serve_on_port():
    assert (ROOT / "Procfile").read_text().strip() == \
        "web: moesim serve --host 0.0.0.0 --port $PORT"
