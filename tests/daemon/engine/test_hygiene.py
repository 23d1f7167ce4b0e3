"""Country codes at the mapping boundary: ISO 3166-1 alpha-2, whatever form the shop sends."""

from __future__ import annotations

import pytest

from daemon.engine.hygiene import UnknownCountry, country_code


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("de", "DE"), ("Germany", "DE"), ("AUT", "AT"), ("UK", "GB"), ("EL", "GR"), ("XK", "XK"), ("xk", "XK")],
)
def test_countries_become_alpha2_codes(sent: str, expected: str) -> None:
    assert country_code(sent) == expected


def test_an_unknown_country_is_refused_with_the_value() -> None:
    with pytest.raises(UnknownCountry, match="Atlantis"):
        country_code("Atlantis")
