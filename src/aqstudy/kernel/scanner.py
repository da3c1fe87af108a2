"""The map's fast path: one pass over an object's bytes that parses, validates and aggregates its readings.

Compiled by numba (cached on disk, so a process pays the compile once per machine, ~0.2 s to load after).
It reads each NDJSON line as strict RFC 8259 JSON, takes the fields of the group key and ``value``, and
adds the reading to an open-addressing hash table of groups; no per-line Python object is ever made. A
line outside what it decides exactly is *handed back* (its byte span) for the line-by-line reader of
:mod:`aqstudy.kernel.aggregate`, which defines the semantics: the two paths agree on every line the scanner keeps.

Handed back: anything not strict JSON (NaN literals, trailing commas, bad UTF-8, control characters, nesting
deeper than 60), a tracked key spelled with an escape or given twice, a key part that is not a string or
null (or is a string with an escape), a coordinate or value whose decimal text is not exactly one double
operation away (more than 15-16 significant digits or a power of ten beyond 10^22: the fast path of
Clinger's algorithm, correctly rounded), and a ``date.utc`` with non-ASCII text in its
first ten bytes. Real OpenAQ exports have none of these; the synthetic data only the odd NaN.
"""

from __future__ import annotations

import os
import shutil


def _seed_numba_cache() -> None:
    """Copy the compiled scanner shipped in a read-only runtime image to where numba can use it.

    numba only loads a cache from a directory it can write to; on AWS Lambda that is /tmp, empty at each cold
    start. The runtime image (runtime/aws_lambda.Dockerfile) compiles the scanner at build time into
    ``AQSTUDY_NUMBA_CACHE_SEED`` and points ``NUMBA_CACHE_DIR`` into /tmp: a copy of ~2.5 MB instead
    of a ~20 s compile in every new function.
    """
    seed, target = os.environ.get("AQSTUDY_NUMBA_CACHE_SEED"), os.environ.get("NUMBA_CACHE_DIR")
    if seed and target and os.path.isdir(seed) and not os.path.isdir(target):
        shutil.copytree(seed, target, dirs_exist_ok=True)


_seed_numba_cache()

import numpy as np  # noqa: E402  (numba reads NUMBA_CACHE_DIR when its cache is first used)
from llvmlite import ir  # noqa: E402
from numba import njit, types  # noqa: E402
from numba.cpython.unsafe.numbers import trailing_zeros  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

#: Slots of the string key parts in a span row; ``day`` is the first ten bytes of ``date.utc``.
COUNTRY, CITY, LOCATION, PARAMETER, UNIT, DAY = range(6)
STRING_SLOTS = 6
_DATE, _COORDINATES, _VALUE, _OTHER = 6, 7, 8, -1

# Line outcomes.
_VALID, _INVALID, _HANDED_BACK = 0, 1, 2

# Number outcomes: exact double, syntax error, not decided here.
_EXACT, _BAD, _UNDECIDED = 0, 1, 2

_MAX_DEPTH = 60  # a bit per level in a 64-bit stack
_EXACT_INT = 2**53
_POW10 = np.array([10.0**k for k in range(23)])  # each exactly representable



def _packed(word: bytes) -> int:
    """Up to 8 bytes as the little-endian integer :func:`_pack` reads them as: one compare per key."""
    return int.from_bytes(word, "little", signed=True)


_COUNTRY_W, _CITY_W, _LOCATION_W = _packed(b"country"), _packed(b"city"), _packed(b"location")
_PARAMETER_W, _UNIT_W, _DATE_W = _packed(b"paramete"), _packed(b"unit"), _packed(b"date")
_COORDINATES_W, _COORDINATES_TAIL = _packed(b"coordina"), _packed(b"tes")
_VALUE_W, _UTC_W = _packed(b"value"), _packed(b"utc")
_LATITUDE_W, _LONGITUDE_W = _packed(b"latitude"), _packed(b"longitud")


# The scanner reads the object through its address, never through an array argument: numba reference-counts
# every array passed to a function (an atomic increment and decrement per call), which made each small
# helper call cost ~10 ns, more than the parsing it does.
@intrinsic
def _byte(typingctx, address, index):
    """The byte at ``address + index`` (the caller keeps ``index`` in bounds)."""
    def codegen(context, builder, signature, args):
        base = builder.inttoptr(args[0], ir.IntType(8).as_pointer())
        return builder.zext(builder.load(builder.gep(base, [args[1]])), ir.IntType(64))

    return types.int64(types.int64, types.int64), codegen


@intrinsic
def _word(typingctx, address, index):
    """The 8 bytes at ``address + index`` as one little-endian integer (unaligned; the caller keeps all 8 in
    bounds)."""
    def codegen(context, builder, signature, args):
        base = builder.inttoptr(args[0], ir.IntType(8).as_pointer())
        pointer = builder.bitcast(builder.gep(base, [args[1]]), ir.IntType(64).as_pointer())
        return builder.load(pointer, align=1)

    return types.int64(types.int64, types.int64), codegen


@intrinsic
def _store(typingctx, address, index, value):
    """``value`` (int64 or float64) into slot ``index`` of the 8-byte slots at ``address``."""
    def codegen(context, builder, signature, args):
        slot_type = context.get_value_type(signature.args[2])
        base = builder.inttoptr(args[0], slot_type.as_pointer())
        builder.store(args[2], builder.gep(base, [args[1]]))
        return context.get_dummy_value()

    return types.void(types.int64, types.int64, value), codegen


@njit(cache=True, inline="always")
def _at(p, i, n):
    """The byte at ``i``, or 0 past the end (0 matches no token, so a cut-off line is handed back)."""
    return _byte(p, i) if i < n else 0


@njit(cache=True, inline="always")
def _plain(c):
    """A byte a string's content runs over without a second look: ASCII, not control, not " or backslash."""
    return 32 <= c < 128 and c != 34 and c != 92


_ONES, _HIGHS = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
_QUOTES, _BACKSLASHES, _SPACES = (np.uint64(0x0101010101010101 * b) for b in (34, 92, 32))


@njit(cache=True, inline="always")
def _specials(word):
    """The high bit of each byte of ``word`` that is a quote, a backslash, a control character or non-ASCII.

    Bit tricks on 64 bits (SWAR): ``(x - 0x01..) & ~x & 0x80..`` flags zero bytes of ``x``. Above the first
    flagged byte a borrow may flag others falsely, so only the lowest flag is exact, and that is all the
    caller uses.
    """
    w = np.uint64(word)
    quotes, backslashes = w ^ _QUOTES, w ^ _BACKSLASHES
    flagged = ((quotes - _ONES) & ~quotes) | ((backslashes - _ONES) & ~backslashes) | ((w - _SPACES) & ~w) | w
    return flagged & _HIGHS


@njit(cache=True, inline="always")
def _space(p, i, n):
    """Past JSON whitespace within the line (a newline ends the line, so it is not whitespace here)."""
    while i < n and (_byte(p, i) == 32 or _byte(p, i) == 9 or _byte(p, i) == 13):
        i += 1
    return i


@njit(cache=True, inline="always")
def _pack(p, start, size, n):
    """``size`` (≤ 8) bytes at ``start`` as a little-endian integer (see :func:`_packed`)."""
    if start + 8 <= n:  # one load; the bytes beyond ``size`` masked off
        word = _word(p, start)
        return word if size == 8 else word & ((1 << (8 * size)) - 1)
    word = 0
    for k in range(size):
        word |= _byte(p, start + k) << (8 * k)
    return word


@njit(cache=True, inline="always")
def _string_end(p, i, n):
    """``i`` is just past an opening quote: (index past the closing quote or -1, whether it had escapes).

    -1 for what the scanner leaves to the line reader: control characters, invalid UTF-8 (RFC 3629, no
    overlong forms or surrogates), invalid escapes and escaped surrogates.
    """
    while True:
        # Most of an object's bytes are string content: eight at a time while none needs a second look.
        while i + 8 <= n:
            special = _specials(_word(p, i))
            if special:
                i += trailing_zeros(special) >> 3
                break
            i += 8
        while i < n and _plain(_byte(p, i)):
            i += 1
        c = _at(p, i, n)
        if c == 34:
            return i + 1, False
        if 0xC2 <= c <= 0xDF and 0x80 <= _at(p, i + 1, n) <= 0xBF:  # a two-byte character, as in "µg/m³"
            i += 2
        else:
            return _string_rest(p, i, n)


@njit(cache=True)
def _string_rest(p, i, n):
    """The rest of a string from a byte that needs a second look (kept out of line: it is rare)."""
    escaped = False
    while True:
        while i < n and _plain(_byte(p, i)):
            i += 1
        if i >= n:
            return -1, escaped
        c = _byte(p, i)
        if c == 34:  # "
            return i + 1, escaped
        if c == 92:  # backslash
            escaped = True
            e = _at(p, i + 1, n)
            if e == 117:  # \uXXXX
                code = 0
                for k in range(2, 6):
                    h = _at(p, i + k, n)
                    if 48 <= h <= 57:
                        code = code * 16 + (h - 48)
                    elif 97 <= h <= 102:
                        code = code * 16 + (h - 87)
                    elif 65 <= h <= 70:
                        code = code * 16 + (h - 55)
                    else:
                        return -1, escaped
                if 0xD800 <= code <= 0xDFFF:
                    return -1, escaped
                i += 6
            elif e == 34 or e == 92 or e == 47 or e == 98 or e == 102 or e == 110 or e == 114 or e == 116:
                i += 2
            else:
                return -1, escaped
        elif c < 32:
            return -1, escaped
        else:
            width = _utf8_width(p, i, n)
            if width == 0:
                return -1, escaped
            i += width


@njit(cache=True, inline="always")
def _continuation(p, i, n):
    c = _at(p, i, n)
    return 0x80 <= c <= 0xBF


@njit(cache=True, inline="always")
def _utf8_width(p, i, n):
    """Bytes of the well-formed UTF-8 sequence starting at ``i``, or 0."""
    c = _byte(p, i)
    if 0xC2 <= c <= 0xDF:
        return 2 if _continuation(p, i + 1, n) else 0
    second = _at(p, i + 1, n)
    if 0xE0 <= c <= 0xEF:
        low = 0xA0 if c == 0xE0 else 0x80
        high = 0x9F if c == 0xED else 0xBF
        return 3 if low <= second <= high and _continuation(p, i + 2, n) else 0
    if 0xF0 <= c <= 0xF4:
        low = 0x90 if c == 0xF0 else 0x80
        high = 0x8F if c == 0xF4 else 0xBF
        ok = low <= second <= high and _continuation(p, i + 2, n) and _continuation(p, i + 3, n)
        return 4 if ok else 0
    return 0


@njit(cache=True, inline="always")
def _number(p, i, n):
    """A JSON number at ``i``: (index past it, outcome, the double when the outcome is exact)."""
    negative = False
    if _at(p, i, n) == 45:  # -
        negative = True
        i += 1
    mantissa = 0
    exact = True
    c = _at(p, i, n)
    if c == 48:  # a leading 0 stands alone
        i += 1
        if 48 <= _at(p, i, n) <= 57:
            return i, _BAD, 0.0
    elif 49 <= c <= 57:
        while i < n and 48 <= _byte(p, i) <= 57:
            if exact and mantissa < _EXACT_INT // 10:
                mantissa = mantissa * 10 + (_byte(p, i) - 48)
            else:
                exact = False
            i += 1
    else:
        return i, _BAD, 0.0
    decimals = 0
    if _at(p, i, n) == 46:  # .
        i += 1
        if not 48 <= _at(p, i, n) <= 57:
            return i, _BAD, 0.0
        while i < n and 48 <= _byte(p, i) <= 57:
            if exact and mantissa < _EXACT_INT // 10:
                mantissa = mantissa * 10 + (_byte(p, i) - 48)
                decimals += 1
            else:
                exact = False
            i += 1
    exponent = 0
    c = _at(p, i, n)
    if c == 101 or c == 69:  # e E
        i += 1
        sign = 1
        c = _at(p, i, n)
        if c == 43 or c == 45:
            sign = -1 if c == 45 else 1
            i += 1
        if not 48 <= _at(p, i, n) <= 57:
            return i, _BAD, 0.0
        while i < n and 48 <= _byte(p, i) <= 57:
            if exponent < 100_000:
                exponent = exponent * 10 + (_byte(p, i) - 48)
            i += 1
        exponent *= sign
    if not exact:
        return i, _UNDECIDED, 0.0
    power = exponent - decimals
    number = float(mantissa)
    if mantissa == 0:
        number = 0.0
    elif 0 <= power <= 22:
        number = number * _POW10[power]
    elif -22 <= power < 0:
        number = number / _POW10[-power]
    else:
        return i, _UNDECIDED, 0.0
    return i, _EXACT, -number if negative else number


@njit(cache=True)
def _skip_value(p, i, n):
    """Index past the strict JSON value at ``i`` (validated, any nesting up to 60 levels), or -1."""
    stack = np.uint64(0)  # bit d set: level d is an object
    depth = 0
    while True:
        # a value
        c = _at(p, i, n)
        if c == 34:
            i, _ = _string_end(p, i + 1, n)
            if i < 0:
                return -1
        elif c == 123 or c == 91:  # { [
            if depth == _MAX_DEPTH:
                return -1
            if c == 123:
                stack |= np.uint64(1) << np.uint64(depth)
            else:
                stack &= ~(np.uint64(1) << np.uint64(depth))
            depth += 1
            i = _space(p, i + 1, n)
            close = _at(p, i, n)
            if (c == 123 and close == 125) or (c == 91 and close == 93):
                depth -= 1
                i += 1
            elif c == 123:
                _, _, _, i = _member(p, i, n)
                if i < 0:
                    return -1
                continue
            else:
                continue
        elif c == 45 or 48 <= c <= 57:
            i, outcome, _ = _number(p, i, n)
            if outcome == _BAD:
                return -1
        elif c == 116:
            if not (_at(p, i + 1, n) == 114 and _at(p, i + 2, n) == 117 and _at(p, i + 3, n) == 101):
                return -1
            i += 4
        elif c == 102:
            if not (_at(p, i + 1, n) == 97 and _at(p, i + 2, n) == 108 and _at(p, i + 3, n) == 115
                    and _at(p, i + 4, n) == 101):
                return -1
            i += 5
        elif c == 110:
            if not _null(p, i, n):
                return -1
            i += 4
        else:
            return -1
        # after a value: close containers, or go on to the next element
        while True:
            if depth == 0:
                return i
            i = _space(p, i, n)
            c = _at(p, i, n)
            in_object = (stack >> np.uint64(depth - 1)) & np.uint64(1)
            if c == 44:  # ,
                i = _space(p, i + 1, n)
                if in_object:
                    _, _, _, i = _member(p, i, n)
                    if i < 0:
                        return -1
                break
            if (c == 125 and in_object) or (c == 93 and not in_object):
                depth -= 1
                i += 1
                continue
            return -1


@njit(cache=True, inline="always")
def _null(p, i, n):
    return _at(p, i + 1, n) == 117 and _at(p, i + 2, n) == 108 and _at(p, i + 3, n) == 108


@njit(cache=True, inline="always")
def _member(p, i, n):
    """At a member of an object: (its key's start and end, whether the key has escapes, the index of its
    value past the colon and whitespace); the index is -1 where there is no valid key and colon."""
    if _at(p, i, n) != 34:
        return 0, 0, False, -1
    end, escaped = _string_end(p, i + 1, n)
    if end < 0:
        return 0, 0, False, -1
    j = _space(p, end, n)
    if _at(p, j, n) != 58:  # :
        return 0, 0, False, -1
    return i + 1, end - 1, escaped, _space(p, j + 1, n)


@njit(cache=True, inline="always")
def _next_member(p, i, n):
    """After a member's value: (the index of the next member, or past the object's ``}``; whether that was
    the end), the index -1 where neither a comma nor ``}`` follows, or where the value failed (``i`` -1)."""
    if i < 0:
        return -1, False
    i = _space(p, i, n)
    c = _at(p, i, n)
    if c == 125:
        return i + 1, True
    if c != 44:
        return -1, False
    return _space(p, i + 1, n), False


@njit(cache=True, inline="always")
def _open_object(p, i, n):
    """A tracked object member's value that must be an object or null: (the index of its first member,
    True), or (the index past a ``null`` or an empty object, False); the index -1 for anything else."""
    c = _at(p, i, n)
    if c == 110 and _null(p, i, n):
        return i + 4, False
    if c != 123:
        return -1, False
    i = _space(p, i + 1, n)
    if _at(p, i, n) == 125:
        return i + 1, False
    return i, True


@njit(cache=True)
def _key_string(p, i, n, spans, slot):
    """A string or null key part at ``i``, its span stored in slot ``slot`` of the spans at address ``spans``:
    index past it, or -1 to hand the line back."""
    c = _at(p, i, n)
    if c == 34:
        end, escaped = _string_end(p, i + 1, n)
        if end < 0 or escaped:
            return -1
        _store(spans, 2 * slot, i + 1)
        _store(spans, 2 * slot + 1, end - 1)
        return end
    if c == 110 and _null(p, i, n):
        return i + 4
    return -1


@njit(cache=True)
def _read_date(p, i, n, spans):
    """``date``: an object whose ``utc`` gives the day, or null. Index past it, or -1."""
    i, members = _open_object(p, i, n)
    if not members:
        return i
    seen = False
    while True:
        start, end, escaped, i = _member(p, i, n)
        if i < 0 or escaped:
            return -1
        if end - start == 3 and _pack(p, start, 3, n) == _UTC_W:
            if seen:
                return -1
            seen = True
            if _at(p, i, n) == 34:
                stop = _key_string(p, i, n, spans, DAY)
                if stop < 0:
                    return -1
                day_end = min(i + 11, stop - 1)
                for k in range(i + 1, day_end):
                    if _byte(p, k) >= 128:  # ten characters, not ten bytes: left to the line reader
                        return -1
                _store(spans, 2 * DAY + 1, day_end)
                i = stop
            else:
                i = _key_string(p, i, n, spans, DAY)
        else:
            i = _skip_value(p, i, n)
        i, closed = _next_member(p, i, n)
        if i < 0 or closed:
            return i


@njit(cache=True)
def _read_coordinates(p, i, n, coordinates):
    """``coordinates``: an object of numbers or nulls, or null. Index past it, or -1."""
    i, members = _open_object(p, i, n)
    if not members:
        return i
    seen = 0
    while True:
        start, end, escaped, i = _member(p, i, n)
        if i < 0 or escaped:
            return -1
        which = -1
        if end - start == 8 and _pack(p, start, 8, n) == _LATITUDE_W:
            which = 0
        elif end - start == 9 and _pack(p, start, 8, n) == _LONGITUDE_W and _byte(p, start + 8) == 101:  # e
            which = 1
        if which >= 0:
            if seen & (1 << which):
                return -1
            seen |= 1 << which
            c = _at(p, i, n)
            if c == 110 and _null(p, i, n):
                i += 4
            elif c == 45 or 48 <= c <= 57:
                i, outcome, number = _number(p, i, n)
                if outcome != _EXACT:
                    return -1
                _store(coordinates, which, number)
            else:
                return -1
        else:
            i = _skip_value(p, i, n)
        i, closed = _next_member(p, i, n)
        if i < 0 or closed:
            return i


@njit(cache=True)
def _top_key(p, start, end, n):
    size = end - start
    if size > 11:
        return _OTHER
    word = _pack(p, start, min(size, 8), n)
    if size == 4:
        if word == _DATE_W:
            return _DATE
        if word == _UNIT_W:
            return UNIT
        if word == _CITY_W:
            return CITY
    elif size == 5:
        if word == _VALUE_W:
            return _VALUE
    elif size == 7:
        if word == _COUNTRY_W:
            return COUNTRY
    elif size == 8:
        if word == _LOCATION_W:
            return LOCATION
    elif size == 9:
        if word == _PARAMETER_W and _byte(p, start + 8) == 114:  # r
            return PARAMETER
    elif size == 11:
        if word == _COORDINATES_W and _pack(p, start + 8, 3, n) == _COORDINATES_TAIL:
            return _COORDINATES
    return _OTHER


@njit(cache=True)
def _record(p, i, n, spans, coordinates):
    """The record whose ``{`` is at ``i``: (outcome, index past it, value). Key parts land at the addresses
    ``spans`` (start, end per slot; -1 for null) and ``coordinates`` (NaN for null)."""
    for k in range(2 * STRING_SLOTS):
        _store(spans, k, -1)
    _store(coordinates, 0, np.nan)
    _store(coordinates, 1, np.nan)
    value = 0.0
    outcome = _INVALID  # no value yet
    seen = 0
    i = _space(p, i + 1, n)
    if _at(p, i, n) == 125:
        return outcome, i + 1, value
    while True:
        start, end, escaped, i = _member(p, i, n)
        if i < 0 or escaped:  # an escaped key may spell a tracked one ("v\u0061lue"): the line reader decides
            return _HANDED_BACK, 0, value
        key = _top_key(p, start, end, n)
        if key != _OTHER:
            if seen & (1 << key):
                return _HANDED_BACK, i, value
            seen |= 1 << key
        if key == _OTHER:
            c = _at(p, i, n)
            if c == 34:  # most untracked values are strings: no call for them
                i, _ = _string_end(p, i + 1, n)
            else:
                i = _skip_value(p, i, n)
        elif key < STRING_SLOTS:
            i = _key_string(p, i, n, spans, key)
        elif key == _DATE:
            i = _read_date(p, i, n, spans)
        elif key == _COORDINATES:
            i = _read_coordinates(p, i, n, coordinates)
        else:  # value
            c = _at(p, i, n)
            if c == 45 or 48 <= c <= 57:
                i, number_outcome, number = _number(p, i, n)
                if number_outcome != _EXACT:
                    return _HANDED_BACK, i, value
                if number >= 0.0:
                    outcome, value = _VALID, number
                else:
                    outcome = _INVALID
            else:  # a string, boolean, null, array or object: an invalid reading
                outcome = _INVALID
                i = _skip_value(p, i, n)
        i, closed = _next_member(p, i, n)
        if i < 0:
            return _HANDED_BACK, 0, value
        if closed:
            return outcome, i, value


@njit(cache=True, inline="always")
def _mix(h, x):
    """One step of the group hash (FNV-1a's multiply over 64-bit words rather than bytes)."""
    h = (h ^ np.uint64(x)) * np.uint64(0x100000001B3)
    return h ^ (h >> np.uint64(32))


def new_state(capacity: int = 1024) -> tuple:
    """The scanner's state before an object's first block: counters, groups, hash table, key bytes."""
    return (np.zeros(4, np.int64),  # records, invalid, groups, key bytes used
            np.empty((capacity, 2 * STRING_SLOTS), np.int64), np.empty((capacity, 2), np.float64),
            np.empty(capacity, np.float64), np.empty(capacity, np.int64), np.empty(capacity, np.float64),
            np.empty(capacity, np.uint64), np.full(2 * capacity, -1, np.int64), np.empty(64 * capacity, np.uint8))


def scan(buf) -> tuple:
    """Aggregate every line of ``buf`` (uint8, one object's NDJSON) the scanner decides: one block.

    :return: ``records, invalid, groups, keys, group_spans, group_coordinates, sums, counts, maxima,
        handed_back``: as :func:`finish` gives them, and the lines handed back as in :func:`scan_block`.
    """
    _, handed_back, state = scan_block(buf, buf.size, True, new_state())
    return (*finish(state), handed_back)


def finish(state) -> tuple:
    """``records, invalid, groups, keys, group_spans, group_coordinates, sums, counts, maxima`` of a state:
    the counts of the records decided, the number of groups, the groups' key bytes (each group's string
    parts one after another), per group its parts' spans into ``keys`` (-1 for null) and coordinates (NaN
    for null), and its sum, count and max of valid values."""
    counters, group_spans, group_coordinates, sums, counts, maxima, _, _, keys = state
    records, invalid, groups, keys_used = (int(x) for x in counters)
    return (records, invalid, groups, keys[:keys_used], group_spans[:groups], group_coordinates[:groups],
            sums[:groups], counts[:groups], maxima[:groups])


@njit(cache=True)
def scan_block(buf, length, final, state):
    """Aggregate the lines of ``buf[:length]`` into ``state`` (:func:`new_state`), a block of an object read
    in pieces: only whole lines, unless ``final`` (the object's last block, its last line maybe without a
    newline). Group keys are copied into the state, so the caller may reuse ``buf`` for the next block.

    :return: ``consumed, handed_back, state``: bytes taken (the rest, a partial line, starts the next block;
        0 when the block holds no whole line: the caller needs a larger buffer), the (start, end) spans in
        ``buf`` of the lines handed back to the line reader (blank lines are skipped, not counted), and the
        state (its arrays may have been replaced by larger ones).
    """
    counters, group_spans, group_coordinates, sums, counts, maxima, hashes, slots, keys = state
    n = length
    if not final:
        while n > 0 and buf[n - 1] != 10:
            n -= 1
    p = buf.ctypes.data
    capacity = sums.size
    # Each group's key bytes are copied once: comparing a line's key with a group's then reads this compact
    # store (cache-resident) instead of the group's first line, somewhere in the object (a cache miss a part).
    records, invalid, groups, keys_used = counters[0], counters[1], counters[2], counters[3]
    handed_back = np.empty((16, 2), np.int64)
    returned = 0
    spans = np.empty(2 * STRING_SLOTS, np.int64)
    coordinates = np.empty(2, np.float64)
    spans_at, coordinates_at = spans.ctypes.data, coordinates.ctypes.data
    keys_at, keys_size = keys.ctypes.data, keys.size
    position = 0
    while position < n:
        start = position
        i = _space(p, position, n)
        if i >= n:
            break
        if buf[i] == 10:  # a blank line
            position = i + 1
            continue
        outcome = _HANDED_BACK
        value = 0.0
        if buf[i] == 123:
            outcome, i, value = _record(p, i, n, spans_at, coordinates_at)
            if outcome != _HANDED_BACK:
                i = _space(p, i, n)
                if i < n and buf[i] != 10:
                    outcome = _HANDED_BACK
        if outcome == _HANDED_BACK:
            end = start
            while end < n and buf[end] != 10:
                end += 1
            if returned == handed_back.shape[0]:
                handed_back = _grown2(handed_back, 2 * returned)
            handed_back[returned, 0] = start
            handed_back[returned, 1] = end
            returned += 1
            position = end + 1
            continue
        position = i + 1
        records += 1
        if outcome == _INVALID:
            invalid += 1
            continue
        # the group key's hash: FNV-1a over the string parts (with their lengths) and the coordinates
        h = np.uint64(0xCBF29CE484222325)
        for slot in range(STRING_SLOTS):
            first, last = spans[2 * slot], spans[2 * slot + 1]
            if first < 0:
                h = _mix(h, 0x1FF)
                continue
            k = first
            while k + 8 <= last:
                h = _mix(h, _word(p, k))
                k += 8
            h = _mix(h, _pack(p, k, last - k, n))
            h = _mix(h, 0x100 + (last - first))
        for c in range(2):
            x = coordinates[c]
            if x != x:
                h = _mix(h, 0x2FF)
            else:
                h = _mix(h, np.int64(x * 1e6) if abs(x) < 1e12 else 0x3FF)
        h ^= h >> np.uint64(29)
        mask = slots.size - 1
        probe = np.int64(h & np.uint64(mask))
        while True:
            g = slots[probe]
            if g < 0:
                break
            if hashes[g] == h:
                same = True
                for c in range(2):
                    a, b = coordinates[c], group_coordinates[g, c]
                    if a != b and not (a != a and b != b):
                        same = False
                for slot in range(STRING_SLOTS):
                    if not same:
                        break
                    first, last = spans[2 * slot], spans[2 * slot + 1]
                    other, other_last = group_spans[g, 2 * slot], group_spans[g, 2 * slot + 1]
                    if (first < 0) != (other < 0) or last - first != other_last - other:
                        same = False
                    elif first >= 0:
                        k = 0
                        size = last - first
                        while k + 8 <= size:
                            if _word(p, first + k) != _word(keys_at, other + k):
                                same = False
                                break
                            k += 8
                        if same and _pack(p, first + k, size - k, n) != _pack(keys_at, other + k, size - k, keys_size):
                            same = False
                if same:
                    break
            probe = (probe + 1) & mask
        if g >= 0:
            sums[g] += value
            counts[g] += 1
            if value > maxima[g]:
                maxima[g] = value
            continue
        if groups == capacity:  # grow the groups and rehash into a table twice as large
            capacity *= 2
            group_spans = _grown2(group_spans, capacity)
            group_coordinates = _grown2(group_coordinates, capacity)
            sums, counts = _grown(sums, capacity), _grown(counts, capacity)
            maxima, hashes = _grown(maxima, capacity), _grown(hashes, capacity)
            slots = np.full(2 * capacity, -1, np.int64)
            mask = slots.size - 1
            for other in range(groups):
                at = np.int64(hashes[other] & np.uint64(mask))
                while slots[at] >= 0:
                    at = (at + 1) & mask
                slots[at] = other
            probe = np.int64(h & np.uint64(mask))
            while slots[probe] >= 0:
                probe = (probe + 1) & mask
        g = groups
        groups += 1
        slots[probe] = g
        hashes[g] = h
        size = 0
        for slot in range(STRING_SLOTS):
            if spans[2 * slot] >= 0:
                size += spans[2 * slot + 1] - spans[2 * slot]
        if keys_used + size > keys.size:
            keys = _grown(keys, max(2 * keys.size, keys_used + size))
            keys_at, keys_size = keys.ctypes.data, keys.size
        for slot in range(STRING_SLOTS):
            first, last = spans[2 * slot], spans[2 * slot + 1]
            if first < 0:
                group_spans[g, 2 * slot] = -1
                group_spans[g, 2 * slot + 1] = -1
                continue
            group_spans[g, 2 * slot] = keys_used
            for k in range(first, last):
                keys[keys_used] = buf[k]
                keys_used += 1
            group_spans[g, 2 * slot + 1] = keys_used
        group_coordinates[g, 0] = coordinates[0]
        group_coordinates[g, 1] = coordinates[1]
        sums[g] = value
        counts[g] = 1
        maxima[g] = value
    counters[0], counters[1], counters[2], counters[3] = records, invalid, groups, keys_used
    return n, handed_back[:returned], (counters, group_spans, group_coordinates, sums, counts, maxima, hashes,
                                       slots, keys)


@njit(cache=True)
def _grown(array, capacity):
    out = np.empty(capacity, array.dtype)
    out[: array.size] = array
    return out


@njit(cache=True)
def _grown2(array, capacity):
    out = np.empty((capacity, array.shape[1]), array.dtype)
    out[: array.shape[0]] = array
    return out


@njit(cache=True)
def gather(keys, group_spans, slot):
    """One string key column of the groups: (UTF-8 bytes, int32 offsets, validity) for an Arrow array."""
    groups = group_spans.shape[0]
    offsets = np.empty(groups + 1, np.int32)
    valid = np.empty(groups, np.bool_)
    total = 0
    for g in range(groups):
        start = group_spans[g, 2 * slot]
        valid[g] = start >= 0
        if start >= 0:
            total += group_spans[g, 2 * slot + 1] - start
    data = np.empty(total, np.uint8)
    at = 0
    for g in range(groups):
        offsets[g] = at
        start = group_spans[g, 2 * slot]
        if start >= 0:
            for k in range(start, group_spans[g, 2 * slot + 1]):
                data[at] = keys[k]
                at += 1
    offsets[groups] = at
    return data, offsets, valid
