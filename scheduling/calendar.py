"""Which daypart a moment falls in and which seasons a date belongs to (local time of the channel)."""

from __future__ import annotations

from datetime import date, datetime

from catalog.choices import Daypart, SeasonalPreference


def daypart_of(moment: datetime) -> str:
    hour, weekday = moment.hour, moment.weekday()
    if weekday == 5 and 7 <= hour < 12:
        return Daypart.SATURDAY_MORNING
    if 5 <= hour < 9:
        return Daypart.EARLY_MORNING
    if 9 <= hour < 16:
        return Daypart.DAYTIME
    if 16 <= hour < 19:
        return Daypart.EARLY_FRINGE
    if 19 <= hour < 20:
        return Daypart.PRIME_ACCESS
    if 20 <= hour < 23:
        return Daypart.PRIME_TIME
    if hour >= 23 or hour < 2:
        return Daypart.LATE_NIGHT
    return Daypart.OVERNIGHT


def dayparts_matching(moment: datetime) -> set[str]:
    """Item dayparts that may air at this moment ("any" always may; Saturday morning is also daytime)."""
    current = daypart_of(moment)
    matching = {Daypart.ANY, current}
    if current == Daypart.SATURDAY_MORNING:
        matching |= {Daypart.DAYTIME, Daypart.EARLY_MORNING}
    return {str(value) for value in matching}


def seasons_of(day: date) -> set[str]:
    """Seasonal preferences that fit a date ("any" always fits)."""
    month, dom = day.month, day.day
    seasons = {SeasonalPreference.ANY}
    seasons.add(
        {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
         6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}[month]
    )  # fmt: skip
    if month == 10:
        seasons.add(SeasonalPreference.HALLOWEEN)
    if month == 11 and dom >= 20:
        seasons.add(SeasonalPreference.THANKSGIVING)
    if month == 12:
        seasons.add(SeasonalPreference.CHRISTMAS)
    if (month == 12 and dom >= 26) or (month == 1 and dom <= 7):
        seasons.add(SeasonalPreference.NEW_YEAR)
    if (month == 8 and dom >= 15) or (month == 9 and dom <= 15):
        seasons.add(SeasonalPreference.BACK_TO_SCHOOL)
    return {str(value) for value in seasons}
