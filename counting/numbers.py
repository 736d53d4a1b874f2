"""Exact numbers: how they are shown and the one place percentages are computed."""

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Union

Number = Union[int, Fraction, Decimal]

PERCENT_PLACES = Decimal("0.0001")


def exact_json(value: Number) -> Union[int, str]:
    """JSON form of a count: an integer when whole, else an exact decimal string.

    Fractions that do not terminate in decimal are written as "p/q" so nothing is rounded.
    """
    if isinstance(value, bool):
        raise TypeError("a count cannot be a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return value.numerator
        den = value.denominator
        for p in (2, 5):
            while den % p == 0:
                den //= p
        if den != 1:
            return f"{value.numerator}/{value.denominator}"
        with localcontext() as ctx:
            ctx.prec = 200
            return _plain(Decimal(value.numerator) / Decimal(value.denominator))
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return _plain(value)
    raise TypeError(f"not an exact number: {value!r}")


def _plain(value: Decimal) -> str:
    # Not Decimal.normalize(): it rounds to the caller's context precision (28 digits by default).
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def percentage(numerator: Number, denominator: Number) -> Decimal:
    """100 * numerator / denominator, rounded half-even to 4 places; 0 when the denominator is 0."""
    if not denominator:
        return Decimal(0).quantize(PERCENT_PLACES)
    ratio = Fraction(numerator) * 100 / Fraction(denominator)
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal(ratio.numerator) / Decimal(ratio.denominator)
        return value.quantize(PERCENT_PLACES, rounding=ROUND_HALF_EVEN)


def percentage_json(numerator: Number, denominator: Number) -> str:
    return format(percentage(numerator, denominator).normalize(), "f")
