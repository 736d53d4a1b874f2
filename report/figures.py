"""Every number a reader sees, written one way: thousands separated, RCTab's four decimals for a
fraction, percentages from `counting.numbers.percentage`."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from counting.numbers import Number, percentage_json

FOUR_PLACES = Decimal("0.0001")


def exact(value: Number | str | None) -> Number:
    """A count as the result JSON holds it (an integer, a decimal string or "p/q") as an exact number."""
    if value is None:
        return 0
    if isinstance(value, (int, Fraction, Decimal)):
        return value
    number = Fraction(value)
    return number.numerator if number.denominator == 1 else number


def count_text(value: Number | str | None) -> str:
    """1234 -> "1,234"; a fraction to four decimals (half-even), "1,136.9592"."""
    number = exact(value)
    if isinstance(number, int) or Fraction(number).denominator == 1:
        return f"{int(number):,}"
    fraction = Fraction(number)
    shown = (Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(FOUR_PLACES, ROUND_HALF_EVEN)
    return f"{shown:,.4f}"


def signed_text(value: Number | str | None) -> str:
    """A change: "+12", "-19", "0"."""
    number = exact(value)
    text = count_text(abs(Fraction(number)))
    return "0" if number == 0 else ("+" if number > 0 else "-") + text


def share_text(part: Number | str | None, whole: Number | str | None) -> str:
    """part as a percentage of whole, as results.json gives shares (four places at most): "28.2828%"."""
    return f"{percentage_json(exact(part), exact(whole))}%"


def ratio(part: Number | str | None, whole: Number | str | None) -> float:
    """For drawing only (a bar's length), never for a figure shown or decided."""
    whole_number = exact(whole)
    return float(Fraction(exact(part)) / Fraction(whole_number)) if whole_number else 0.0
