"""Dash's private names that whytrend relies on still exist (an upgrade fails here, not in the app),
and the wrapper does what it says: each app built in one process has exactly its own callbacks."""
from __future__ import annotations

import importlib

import pytest

from dashapp import dash_internals


@pytest.mark.parametrize("owner, name", dash_internals.PRIVATE_NAMES)
def test_every_private_name_used_still_exists(owner, name):
    if owner == "dash.Dash":  # instance attributes: look on a fresh app
        import dash

        target = dash.Dash(__name__)
    else:
        target = importlib.import_module(owner)
    assert hasattr(target, name), f"{owner}.{name} is gone: see dashapp/dash_internals.py"


def test_the_setup_flag_is_a_mapping_with_the_key_read():
    import dash

    app = dash.Dash(__name__)
    assert isinstance(app._got_first_request, dict) and "setup_server" in app._got_first_request
    assert dash_internals.has_set_up(app) is False


def test_each_app_takes_exactly_the_callbacks_registered_for_it(tmp_path):
    import dash
    from dash import Input, Output, _callback, callback, html

    def build(suffix: str):
        dash_internals.reset_registries()

        @callback(Output(f"out-{suffix}", "children"), Input(f"in-{suffix}", "n_clicks"))
        def _echo(n):
            return n

        app = dash.Dash(__name__)
        app.layout = html.Div()
        dash_internals.adopt_callbacks(app)
        return app

    first, second = build("a"), build("b")
    assert list(first.callback_map) == ["out-a.children"] and list(second.callback_map) == ["out-b.children"]
    assert len(first._callback_list) == 1 and len(second._callback_list) == 1
    assert not _callback.GLOBAL_CALLBACK_MAP and not _callback.GLOBAL_CALLBACK_LIST
