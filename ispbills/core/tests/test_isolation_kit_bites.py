"""The isolation kit must report a view that forgets restrict(), and a view it cannot classify."""

from typing import Any

from ispbills.core.testing.isolation import (
    check_hidden,
    client_as,
    load_makers,
    new_marker,
    registered_endpoints,
)

LEAKY = "ispbills.core.tests.leaky_urls"


def _endpoint(name: str) -> Any:
    return next(e for e in registered_endpoints(LEAKY) if e.name == name)


def test_kit_reports_an_unscoped_detail_view(cast: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = LEAKY
    hidden = load_makers()[_endpoint("leaky_detail").model](cast.globex_east, new_marker())

    problems = check_hidden(
        _endpoint("leaky_detail"), client_as(cast.bob), client_as(cast.zed), hidden
    )

    assert any("gave 200, not 404/403" in problem for problem in problems)


def test_kit_reports_an_unscoped_list_view(cast: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = LEAKY
    hidden = load_makers()[_endpoint("leaky_list").model](cast.south, new_marker())

    problems = check_hidden(
        _endpoint("leaky_list"), client_as(cast.bob), client_as(cast.zed), hidden
    )

    assert problems == [f"leaky_list: the viewer's page shows {hidden!r}"]


def test_kit_reports_a_view_it_cannot_classify() -> None:
    unknown = [e.name for e in registered_endpoints(LEAKY) if e.kind == "unknown"]

    assert unknown == ["leaky_hand_written"]
