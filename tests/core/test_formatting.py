"""Lengths and sizes as the admin and the custom pages print them."""

import pytest

from retrovue.core.formatting import format_bytes, format_duration_ms

KB, MB, GB, TB = 1024, 1024**2, 1024**3, 1024**4


def test_unknown_duration_is_a_dash():
    assert format_duration_ms(None) == "–"


@pytest.mark.parametrize(
    ("milliseconds", "shown"),
    [
        (0, "00:00:00.00"),
        (9, "00:00:00.00"),
        (10, "00:00:00.01"),
        (1_500, "00:00:01.50"),
        ((22 * 60 + 1) * 1000 + 234, "00:22:01.23"),
        (3_600_000, "01:00:00.00"),
    ],
)
def test_duration_is_hours_minutes_seconds_and_hundredths(milliseconds, shown):
    assert format_duration_ms(milliseconds) == shown


def test_duration_truncates_to_hundredths_never_rounding_up_to_the_next_second():
    # 59.999 s must not print as a full minute: a log never claims more time than there is.
    assert format_duration_ms(59_999) == "00:00:59.99"
    assert format_duration_ms(3_599_999) == "00:59:59.99"


def test_duration_over_a_day_keeps_counting_hours():
    assert format_duration_ms(25 * 3_600_000) == "25:00:00.00"
    assert format_duration_ms(100 * 3_600_000 + 61_010) == "100:01:01.01"


def test_negative_duration_keeps_its_sign_in_front():
    assert format_duration_ms(-1_500) == "-00:00:01.50"
    assert format_duration_ms(-(2 * 3_600_000 + 5)) == "-02:00:00.00"


def test_fractional_milliseconds_are_dropped():
    assert format_duration_ms(1_234.9) == "00:00:01.23"


def test_unknown_size_is_a_dash():
    assert format_bytes(None) == "–"


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (KB, "1.0 KB"),
        (1536, "1.5 KB"),
        (700 * MB, "700.0 MB"),
        (4 * GB + 512 * MB, "4.5 GB"),
        (3 * TB, "3.0 TB"),
    ],
)
def test_size_uses_binary_units_with_one_decimal(size, shown):
    assert format_bytes(size) == shown


def test_size_beyond_terabytes_stays_in_terabytes():
    assert format_bytes(2048 * TB) == "2048.0 TB"


def test_negative_size_scales_like_a_positive_one():
    assert format_bytes(-2 * KB) == "-2.0 KB"


def test_size_just_under_a_unit_rounds_into_the_next_unit():
    assert format_bytes(MB - 1) == "1.0 MB"
