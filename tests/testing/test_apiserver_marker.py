"""`@pytest.mark.apiserver(...)`: ApiServerOptions for the test's embedded server."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_marker_options_reach_the_embedded_server_and_the_closest_marker_wins(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.apiserver(bookmark_interval=0.5, watch_history=50)


        @pytest.mark.apiserver(strict_status=True, watch_history=7)
        def test_marked(apiserver):
            options = apiserver.engine.options
            assert options.strict_status is True
            assert options.watch_history == 7
            assert options.bookmark_interval == 0.5


        def test_module_marker_only(apiserver):
            options = apiserver.engine.options
            assert options.strict_status is False
            assert (options.watch_history, options.bookmark_interval) == (50, 0.5)
        """
    )
    # --strict-markers: the plugin registers the marker.
    suite.runpytest("--strict-markers").assert_outcomes(passed=2)


def test_an_unmarked_test_gets_the_plugin_defaults(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_defaults(apiserver):
            options = apiserver.engine.options
            assert options.bookmark_interval == 1.0
            assert options.strict_status is False
        """
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_an_unknown_option_is_an_error_that_lists_the_options(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest


        @pytest.mark.apiserver(require_status_precondition=False)
        def test_unknown(apiserver):
            pass
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.apiserver: unknown option(s) require_status_precondition; the options "
        "are the fields of ApiServerOptions: *strict_status*",
    ])


def test_positional_marker_arguments_are_an_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest


        @pytest.mark.apiserver("tls")
        def test_positional(apiserver):
            pass
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.apiserver takes keyword arguments only*"])
