"""Settings: declared once, read from MOESIM_* variables, overridden by flags."""

import pytest

from simulator.core.errors import ConfigError
from simulator.core.settings import SETTINGS, Settings


def test_defaults_env_then_flags():
    assert Settings.load({}).port == 5055 and Settings.load({}).host == "127.0.0.1"
    env = {"MOESIM_PORT": "6000", "MOESIM_WORKSPACE_ID": "W9"}
    assert Settings.load(env).port == 6000
    assert Settings.load(env, {"port": 7000, "db": None}).port == 7000
    assert Settings.load(env).workspace_id == "W9"


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError) as caught:
        Settings.load({"MOESIM_PORT": "lots"})
    assert caught.value.path == "MOESIM_PORT"


def test_every_declared_setting_is_a_field_and_secret_is_masked():
    settings = Settings.load({})
    assert {s.name for s in SETTINGS} == set(settings.public())
    assert settings.public()["data_api_key"] == "********"


@pytest.mark.parametrize("variable", ["MOESIM_SEND_CONCURRENCY"])
def test_send_depths_below_one_are_refused_by_name(variable):
    assert Settings.load({variable: "4"}).public()[variable[7:].lower()] == 4
    with pytest.raises(ConfigError) as caught:
        Settings.load({variable: "0"})
    assert caught.value.path == variable
