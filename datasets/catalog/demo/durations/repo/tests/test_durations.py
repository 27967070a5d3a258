import pytest

from durations import format_duration, parse_duration


def test_single_units():
    assert parse_duration("45s") == 45
    assert parse_duration("2m") == 120
    assert parse_duration("2d") == 172800


def test_compound():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d4h") == 187200
    assert parse_duration("30m1h") == 5400


@pytest.mark.parametrize("bad", ["", "h", "10", "10sx", "1h 30m", "-5s"])
def test_rejects_garbage(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_round_trip():
    for text in ["1h30m", "2d4h", "45s", "1d1h1m1s"]:
        assert format_duration(parse_duration(text)) == text
