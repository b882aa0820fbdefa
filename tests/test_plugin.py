"""The pytest plugin loads through its entry point and stays inert in unrelated runs."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_the_plugin_declares_the_requirement_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*requirement(*ids): the UT-C/UT-S requirement IDs*"])


def test_an_unrelated_suite_runs_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requirement("UT-C01")
        def test_marked():
            assert True

        def test_plain():
            assert 1 + 1 == 2
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_require_exercised_option_parses_and_stays_inert(pytester: pytest.Pytester) -> None:
    assert "--kaltura-require-exercised" in "".join(pytester.runpytest("--help").outlines)
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest("--kaltura-require-exercised", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK  # no conformance run: nothing to require


def test_the_client_chunk_size_reaches_the_run_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_chunk(kaltura_options):
            assert kaltura_options.client_chunk_size == 10_000_000
        """
    )
    result = pytester.runpytest("--kaltura-client-chunk-size", "10MB", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_wrong_client_chunk_size_is_one_line_naming_the_option(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_chunk(kaltura_options):\n    pass\n")
    result = pytester.runpytest("--kaltura-client-chunk-size", "0.5B", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*UsageError: --kaltura-client-chunk-size: '0.5B' is not a*"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--client-cmd", ""), "--client-cmd='': empty*"),
        (("--kaltura-report-dir", "a-file"), "--kaltura-report-dir=a-file: not a directory"),
        (("--kaltura-report-dir", "/proc/no-reports-here"), "--kaltura-report-dir=*cannot write*"),
        (("--client", "no_such_module:upload"), "--client=*cannot import*"),
    ],
)
def test_an_unusable_option_stops_the_suite_before_any_case(
    pytester: pytest.Pytester, options: tuple[str, ...], message: str
) -> None:
    """`pytest --pyargs conformance.suite`: one line, pytest's usage error, no case run."""
    pytester.path.joinpath("a-file").write_text("not a directory")
    result = pytester.runpytest(
        "--pyargs", "conformance.suite", *options, "-p", "no:cacheprovider", "-n", "0"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "passed" not in result.stdout.str()
