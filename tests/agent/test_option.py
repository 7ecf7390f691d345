"""Option: a source's declared option checks its own values, list items included."""

from __future__ import annotations

from typing import ClassVar

import pytest

from hostpulse import ConfigError, Option, Source


class Globs(Source):
    name = "globs"
    options: ClassVar[dict[str, Option]] = {
        "include": Option(list, items=str, default=[]),
        "sizes": Option(list, items=float),
    }


def test_each_list_item_is_checked_against_the_item_type() -> None:
    with pytest.raises(ConfigError, match=r"^plugins\.globs\.include\[1\] = 7: expected a str$"):
        Globs(include=["eth*", 7], sizes=[])
    with pytest.raises(ConfigError, match=r"^plugins\.globs\.include = 'eth\*': expected a list of str$"):
        Globs(include="eth*", sizes=[])


def test_items_are_coerced_like_options() -> None:
    assert Globs(sizes=[1, 2.5]).config == {"include": [], "sizes": [1.0, 2.5]}
    assert all(type(v) is float for v in Globs(sizes=[1, 2]).config["sizes"])
    with pytest.raises(ConfigError, match=r"sizes\[0\] = True: expected a float"):
        Globs(sizes=[True])


def test_a_required_list_says_its_item_type() -> None:
    with pytest.raises(ConfigError, match=r"plugins\.globs\.sizes = missing: expected a list of float \(required\)"):
        Globs()


def test_items_only_for_a_list() -> None:
    with pytest.raises(TypeError, match="for a list option"):
        Option(str, items=str)
