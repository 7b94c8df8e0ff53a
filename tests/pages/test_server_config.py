"""The committed .streamlit/config.toml: every key is a real, non-deprecated Streamlit option that Streamlit reads
back with our value, and the production policy holds (XSRF on, no file watcher, no usage statistics, no tracebacks
in the page, an upload cap that fits an image zip)."""
from __future__ import annotations

import tomllib

import pytest
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
CONFIG = ROOT / ".streamlit" / "config.toml"


@pytest.fixture
def options(monkeypatch):
    from streamlit import config

    monkeypatch.chdir(ROOT)                      # Streamlit reads ./.streamlit/config.toml
    config.get_config_options(force_reparse=True)
    yield config
    config.get_config_options(force_reparse=True)


def test_every_key_is_a_valid_streamlit_option_read_back(options):
    data = tomllib.loads(CONFIG.read_text())
    keys = [(f"{section}.{name}", value) for section, table in data.items() for name, value in table.items()]
    assert keys
    for key, value in keys:
        opt = options._config_options.get(key)
        assert opt is not None, f"{key} is not a Streamlit option"
        assert not opt.deprecated, f"{key} is deprecated"
        assert options.get_option(key) == value and str(CONFIG) in str(opt.where_defined), key


def test_production_policy(options):
    get = options.get_option
    assert get("server.enableXsrfProtection") is True
    assert get("server.fileWatcherType") == "none" and get("server.runOnSave") is False
    assert get("browser.gatherUsageStats") is False
    assert get("client.showErrorDetails") in ("none", "type")   # allowed: full | stacktrace | type | none
    assert 50 <= get("server.maxUploadSize") <= 1024            # MB: an image zip, below the 1 GiB decode cap
    assert get("server.headless") is True
