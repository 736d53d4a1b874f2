"""Java's `java.util.Random`, bit for bit, and the few JDK routines RCTab draws lots with.

RCTab decides a tie by lot with a `java.util.Random` seeded from its configuration. To pick what RCTab
picks, the same generator must be used the same way. Java's documentation specifies the generator
exactly: a 48-bit linear congruential generator (multiplier 0x5DEECE66D, increment 11), whose
`next(bits)` returns the top `bits` of the 48-bit state as a signed 32-bit integer. Everything here is
integer arithmetic; the one place Java uses a double (`floor(nextDouble() * n)`) is reproduced
exactly, including the rounding of the double product, so no float ever decides.
"""

from __future__ import annotations

from typing import MutableSequence

_MULTIPLIER = 0x5DEECE66D
_INCREMENT = 0xB
_MASK = (1 << 48) - 1
_DOUBLE_BITS = 53  # a double's significand: nextDouble() is k / 2**53 for a 53-bit integer k


def _int32(value: int) -> int:
    """Java's `(int)` cast: the low 32 bits as a signed integer."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class JavaRandom:
    """`new java.util.Random(seed)`: the same sequence of draws as Java's, for any long seed."""

    def __init__(self, seed: int):
        self._seed = (seed ^ _MULTIPLIER) & _MASK

    def next(self, bits: int) -> int:
        """`next(bits)`: advance the state and return its top `bits` bits (as Java's signed int)."""
        self._seed = (self._seed * _MULTIPLIER + _INCREMENT) & _MASK
        return _int32(self._seed >> (48 - bits))

    def next_int(self, bound: int | None = None) -> int:
        """`nextInt()` or `nextInt(bound)`, with Java's rejection of the uneven top of the range."""
        if bound is None:
            return self.next(32)
        if bound <= 0:
            raise ValueError("bound must be positive")
        if bound & (bound - 1) == 0:  # a power of two: the top bits, no rejection
            return (bound * self.next(31)) >> 31
        while True:
            bits = self.next(31)
            value = bits % bound
            if _int32(bits - value + (bound - 1)) >= 0:  # Java's overflow test: no int wrap-around
                return value

    def next_double_numerator(self) -> int:
        """`nextDouble()` is this integer divided by 2**53 (exactly: both parts are exact in a double)."""
        return ((self.next(26) << 27) + self.next(27)) & ((1 << _DOUBLE_BITS) - 1)

    def index_by_double(self, n: int) -> int:
        """`(int) Math.floor(nextDouble() * (double) n)`, as RCTab draws one of `n` tied candidates.

        The product of two doubles is rounded to 53 significant bits (round half to even) before
        `floor`; that rounding is reproduced on integers, so the index is Java's in every case."""
        return _floor_of_rounded_product(self.next_double_numerator(), n)


def _floor_of_rounded_product(numerator: int, n: int) -> int:
    """floor(round53(numerator * n) / 2**53): the double product of k/2**53 and n, then floor."""
    product = numerator * n
    extra = product.bit_length() - _DOUBLE_BITS
    if extra > 0:  # more significant bits than a double holds: round half to even
        kept, dropped = product >> extra, product & ((1 << extra) - 1)
        half = 1 << (extra - 1)
        if dropped > half or (dropped == half and kept & 1):
            kept += 1
        product = kept << extra
    return product >> _DOUBLE_BITS


def shuffle(items: MutableSequence, rnd: JavaRandom) -> None:
    """`Collections.shuffle(list, rnd)` for a random-access list: from the end, swap each position
    with one drawn by `nextInt(i + 1)` at or before it."""
    for i in range(len(items) - 1, 0, -1):
        j = rnd.next_int(i + 1)
        items[i], items[j] = items[j], items[i]


def string_hash(text: str) -> int:
    """`String.hashCode()`: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, as a signed int."""
    h = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return _int32(h)


def hash_set_order(items: list[str]) -> list[str]:
    """The iteration order of `new HashSet<>(items)` for distinct strings (as RCTab builds a set of
    tied candidates and then draws by position in it): by bucket of the table's final size, and by
    insertion order within a bucket (a resize keeps that order). The table has room for
    `max(n / 0.75 + 1, 16)` entries, rounded up to a power of two."""
    wanted = max(len(items) * 4 // 3 + 1, 16)
    size = 1
    while size < wanted:
        size <<= 1

    def bucket(text: str) -> int:
        h = string_hash(text) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (size - 1)

    return [item for _, _, item in sorted((bucket(item), i, item) for i, item in enumerate(items))]
