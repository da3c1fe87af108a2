/* The map's fast path, compiled ahead of time: one pass over an object's bytes that parses, validates and
 * aggregates its readings, and the partial's encoding.
 *
 * Built by `make setup` (setup.py), so a function imports it in ~1 ms: no JIT, no numpy, no LLVM at run time.
 * It reads each NDJSON line as strict RFC 8259 JSON, takes the fields of the group key and `value`, and adds
 * the reading to an open-addressing hash table of groups; no per-line Python object is ever made. A line
 * outside what it decides exactly is *handed back* (its byte span) for the line-by-line reader of
 * aqstudy.kernel, which defines the semantics: the two paths agree on every line the scanner keeps, and the
 * line reader's groups are merged into the same table (Groups.add), so one partial leaves the map.
 *
 * Handed back: anything not strict JSON (NaN literals, trailing commas, bad UTF-8, control characters, nesting
 * deeper than 60), a tracked key spelled with an escape or given twice, a key part that is not a string or
 * null (or is a string with an escape), a coordinate or value whose decimal text is not exactly one double
 * operation away (more than 15-16 significant digits or a power of ten beyond 10^22: the fast path of
 * Clinger's algorithm, correctly rounded), and a `date.utc` with non-ASCII text in its first ten bytes.
 *
 * Group keys compare as the line reader's Python tuples do: strings by their bytes, a null apart from every
 * value, -0.0 equal to 0.0, and NaN equal to NaN (the line reader keeps one NaN object).
 *
 * The partial (Groups.encode) is a flat little-endian table that the reduce turns into Arrow arrays without
 * copying (aqstudy.kernel.read_partial); the layout is described at encode() below.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the scanner reads 8 bytes at a time as little-endian words: build it on a little-endian machine"
#endif

typedef int64_t i64;
typedef uint64_t u64;
typedef const unsigned char *bytes_t;

/* Slots of the string key parts in a span row; DAY is the first ten bytes of date.utc. */
enum { COUNTRY, CITY, LOCATION, PARAMETER, UNIT, DAY, STRING_SLOTS };
enum { KEY_DATE = 6, KEY_COORDINATES = 7, KEY_VALUE = 8, KEY_OTHER = -1 };
/* Line outcomes. */
enum { VALID, INVALID, HANDED_BACK };
/* Number outcomes: exact double, syntax error, not decided here. */
enum { EXACT, BAD, UNDECIDED };

#define MAX_DEPTH 60 /* a bit per level in a 64-bit stack */
#define EXACT_INT (INT64_C(1) << 53)
#define NULL_LATITUDE 1
#define NULL_LONGITUDE 2

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline u64 load_word(bytes_t p, i64 i) {
    u64 word;
    memcpy(&word, p + i, 8);
    return word;
}

/* Up to 8 bytes of a literal as the little-endian integer pack() reads them as: one compare per key. */
static u64 packed(const char *word) {
    u64 out = 0;
    for (size_t k = 0; k < strlen(word) && k < 8; k++) out |= (u64)(unsigned char)word[k] << (8 * k);
    return out;
}

static u64 W_COUNTRY, W_CITY, W_LOCATION, W_PARAMETER, W_UNIT, W_DATE, W_COORDINATES, W_COORDINATES_TAIL, W_VALUE,
    W_UTC, W_LATITUDE, W_LONGITUDE;

static void init_words(void) {
    W_COUNTRY = packed("country"), W_CITY = packed("city"), W_LOCATION = packed("location");
    W_PARAMETER = packed("paramete"), W_UNIT = packed("unit"), W_DATE = packed("date");
    W_COORDINATES = packed("coordina"), W_COORDINATES_TAIL = packed("tes");
    W_VALUE = packed("value"), W_UTC = packed("utc");
    W_LATITUDE = packed("latitude"), W_LONGITUDE = packed("longitud");
}

/* The byte at i, or 0 past the end (0 matches no token, so a cut-off line is handed back). */
static inline int at(bytes_t p, i64 i, i64 n) { return i < n ? p[i] : 0; }

static inline int is_digit(int c) { return 48 <= c && c <= 57; }

/* A byte a string's content runs over without a second look: ASCII, not control, not " or backslash. */
static inline int plain(int c) { return 32 <= c && c < 128 && c != 34 && c != 92; }

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* The high bit of each byte of `w` that is a quote, a backslash, a control character or non-ASCII.
 * SWAR: (x - 0x01..) & ~x & 0x80.. flags zero bytes of x. Above the first flagged byte a borrow may flag
 * others falsely, so only the lowest flag is exact, and that is all the caller uses. */
static inline u64 specials(u64 w) {
    u64 quotes = w ^ (ONES * 34), backslashes = w ^ (ONES * 92);
    u64 flagged = ((quotes - ONES) & ~quotes) | ((backslashes - ONES) & ~backslashes) | ((w - ONES * 32) & ~w) | w;
    return flagged & HIGHS;
}

/* Past JSON whitespace within the line (a newline ends the line, so it is not whitespace here). */
static inline i64 space(bytes_t p, i64 i, i64 n) {
    while (i < n && (p[i] == 32 || p[i] == 9 || p[i] == 13)) i++;
    return i;
}

/* `size` (<= 8) bytes at `start` as a little-endian integer. */
static inline u64 pack(bytes_t p, i64 start, i64 size, i64 n) {
    if (start + 8 <= n) { /* one load; the bytes beyond `size` masked off */
        u64 word = load_word(p, start);
        return size == 8 ? word : word & ((UINT64_C(1) << (8 * size)) - 1);
    }
    u64 word = 0;
    for (i64 k = 0; k < size; k++) word |= (u64)p[start + k] << (8 * k);
    return word;
}

static inline int continuation(bytes_t p, i64 i, i64 n) {
    int c = at(p, i, n);
    return 0x80 <= c && c <= 0xBF;
}

/* Bytes of the well-formed UTF-8 sequence starting at i (RFC 3629: no overlong forms or surrogates), or 0. */
static inline int utf8_width(bytes_t p, i64 i, i64 n) {
    int c = p[i];
    if (0xC2 <= c && c <= 0xDF) return continuation(p, i + 1, n) ? 2 : 0;
    int second = at(p, i + 1, n);
    if (0xE0 <= c && c <= 0xEF) {
        int low = c == 0xE0 ? 0xA0 : 0x80, high = c == 0xED ? 0x9F : 0xBF;
        return low <= second && second <= high && continuation(p, i + 2, n) ? 3 : 0;
    }
    if (0xF0 <= c && c <= 0xF4) {
        int low = c == 0xF0 ? 0x90 : 0x80, high = c == 0xF4 ? 0x8F : 0xBF;
        return low <= second && second <= high && continuation(p, i + 2, n) && continuation(p, i + 3, n) ? 4 : 0;
    }
    return 0;
}

/* The rest of a string from a byte that needs a second look (kept out of line: it is rare). */
static __attribute__((noinline)) i64 string_rest(bytes_t p, i64 i, i64 n, int *escaped) {
    *escaped = 0;
    for (;;) {
        while (i < n && plain(p[i])) i++;
        if (i >= n) return -1;
        int c = p[i];
        if (c == 34) return i + 1;
        if (c == 92) { /* backslash */
            *escaped = 1;
            int e = at(p, i + 1, n);
            if (e == 117) { /* \uXXXX */
                int code = 0;
                for (int k = 2; k < 6; k++) {
                    int h = at(p, i + k, n);
                    if (48 <= h && h <= 57) code = code * 16 + (h - 48);
                    else if (97 <= h && h <= 102) code = code * 16 + (h - 87);
                    else if (65 <= h && h <= 70) code = code * 16 + (h - 55);
                    else return -1;
                }
                if (0xD800 <= code && code <= 0xDFFF) return -1;
                i += 6;
            } else if (e == 34 || e == 92 || e == 47 || e == 98 || e == 102 || e == 110 || e == 114 || e == 116) {
                i += 2;
            } else {
                return -1;
            }
        } else if (c < 32) {
            return -1;
        } else {
            int width = utf8_width(p, i, n);
            if (width == 0) return -1;
            i += width;
        }
    }
}

/* i is just past an opening quote: the index past the closing quote, or -1 for what the scanner leaves to
 * the line reader (control characters, invalid UTF-8, invalid escapes and escaped surrogates); `escaped`
 * says whether the string had escapes. */
static inline i64 string_end(bytes_t p, i64 i, i64 n, int *escaped) {
    for (;;) {
        /* Most of an object's bytes are string content: eight at a time while none needs a second look. */
        while (i + 8 <= n) {
            u64 special = specials(load_word(p, i));
            if (special) {
                i += __builtin_ctzll(special) >> 3;
                break;
            }
            i += 8;
        }
        while (i < n && plain(p[i])) i++;
        int c = at(p, i, n);
        if (c == 34) {
            *escaped = 0;
            return i + 1;
        }
        if (0xC2 <= c && c <= 0xDF && continuation(p, i + 1, n)) { /* a two-byte character, as in "µg/m³" */
            i += 2;
        } else {
            return string_rest(p, i, n, escaped);
        }
    }
}

/* A JSON number at i: the index past it; its outcome, and the double when the outcome is EXACT. */
static inline i64 number(bytes_t p, i64 i, i64 n, int *outcome, double *value) {
    int negative = 0;
    if (at(p, i, n) == 45) { /* - */
        negative = 1;
        i++;
    }
    i64 mantissa = 0;
    int exact = 1;
    int c = at(p, i, n);
    if (c == 48) { /* a leading 0 stands alone */
        i++;
        if (is_digit(at(p, i, n))) {
            *outcome = BAD;
            return i;
        }
    } else if (49 <= c && c <= 57) {
        while (i < n && is_digit(p[i])) {
            if (exact && mantissa < EXACT_INT / 10) mantissa = mantissa * 10 + (p[i] - 48);
            else exact = 0;
            i++;
        }
    } else {
        *outcome = BAD;
        return i;
    }
    i64 decimals = 0;
    if (at(p, i, n) == 46) { /* . */
        i++;
        if (!is_digit(at(p, i, n))) {
            *outcome = BAD;
            return i;
        }
        while (i < n && is_digit(p[i])) {
            if (exact && mantissa < EXACT_INT / 10) {
                mantissa = mantissa * 10 + (p[i] - 48);
                decimals++;
            } else {
                exact = 0;
            }
            i++;
        }
    }
    i64 exponent = 0;
    c = at(p, i, n);
    if (c == 101 || c == 69) { /* e E */
        i++;
        int sign = 1;
        c = at(p, i, n);
        if (c == 43 || c == 45) {
            sign = c == 45 ? -1 : 1;
            i++;
        }
        if (!is_digit(at(p, i, n))) {
            *outcome = BAD;
            return i;
        }
        while (i < n && is_digit(p[i])) {
            if (exponent < 100000) exponent = exponent * 10 + (p[i] - 48);
            i++;
        }
        exponent *= sign;
    }
    if (!exact) {
        *outcome = UNDECIDED;
        return i;
    }
    i64 power = exponent - decimals;
    double x = (double)mantissa;
    if (mantissa == 0) {
        x = 0.0;
    } else if (0 <= power && power <= 22) {
        x = x * POW10[power];
    } else if (-22 <= power && power < 0) {
        x = x / POW10[-power];
    } else {
        *outcome = UNDECIDED;
        return i;
    }
    *outcome = EXACT;
    *value = negative ? -x : x;
    return i;
}

static inline int null_at(bytes_t p, i64 i, i64 n) {
    return at(p, i + 1, n) == 117 && at(p, i + 2, n) == 108 && at(p, i + 3, n) == 108;
}

/* At a member of an object: the index of its value past the colon and whitespace, its key's span and
 * whether the key has escapes; -1 where there is no valid key and colon. */
static inline i64 member(bytes_t p, i64 i, i64 n, i64 *start, i64 *end, int *escaped) {
    if (at(p, i, n) != 34) return -1;
    i64 stop = string_end(p, i + 1, n, escaped);
    if (stop < 0) return -1;
    i64 j = space(p, stop, n);
    if (at(p, j, n) != 58) return -1; /* : */
    *start = i + 1;
    *end = stop - 1;
    return space(p, j + 1, n);
}

/* After a member's value: the index of the next member, or past the object's } (then `closed`); -1 where
 * neither a comma nor } follows, or where the value failed (i == -1). */
static inline i64 next_member(bytes_t p, i64 i, i64 n, int *closed) {
    *closed = 0;
    if (i < 0) return -1;
    i = space(p, i, n);
    int c = at(p, i, n);
    if (c == 125) {
        *closed = 1;
        return i + 1;
    }
    if (c != 44) return -1;
    return space(p, i + 1, n);
}

/* Index past the strict JSON value at i (validated, any nesting up to 60 levels), or -1. */
static __attribute__((noinline)) i64 skip_value(bytes_t p, i64 i, i64 n) {
    u64 stack = 0; /* bit d set: level d is an object */
    int depth = 0;
    i64 start, end;
    int escaped;
    for (;;) {
        /* a value */
        int c = at(p, i, n);
        if (c == 34) {
            i = string_end(p, i + 1, n, &escaped);
            if (i < 0) return -1;
        } else if (c == 123 || c == 91) { /* { [ */
            if (depth == MAX_DEPTH) return -1;
            if (c == 123) stack |= UINT64_C(1) << depth;
            else stack &= ~(UINT64_C(1) << depth);
            depth++;
            i = space(p, i + 1, n);
            int close = at(p, i, n);
            if ((c == 123 && close == 125) || (c == 91 && close == 93)) {
                depth--;
                i++;
            } else if (c == 123) {
                i = member(p, i, n, &start, &end, &escaped);
                if (i < 0) return -1;
                continue;
            } else {
                continue;
            }
        } else if (c == 45 || is_digit(c)) {
            int outcome;
            double ignored;
            i = number(p, i, n, &outcome, &ignored);
            if (outcome == BAD) return -1;
        } else if (c == 116) {
            if (!(at(p, i + 1, n) == 114 && at(p, i + 2, n) == 117 && at(p, i + 3, n) == 101)) return -1;
            i += 4;
        } else if (c == 102) {
            if (!(at(p, i + 1, n) == 97 && at(p, i + 2, n) == 108 && at(p, i + 3, n) == 115 &&
                  at(p, i + 4, n) == 101))
                return -1;
            i += 5;
        } else if (c == 110) {
            if (!null_at(p, i, n)) return -1;
            i += 4;
        } else {
            return -1;
        }
        /* after a value: close containers, or go on to the next element */
        for (;;) {
            if (depth == 0) return i;
            i = space(p, i, n);
            c = at(p, i, n);
            int in_object = (int)((stack >> (depth - 1)) & 1);
            if (c == 44) { /* , */
                i = space(p, i + 1, n);
                if (in_object) {
                    i = member(p, i, n, &start, &end, &escaped);
                    if (i < 0) return -1;
                }
                break;
            }
            if ((c == 125 && in_object) || (c == 93 && !in_object)) {
                depth--;
                i++;
                continue;
            }
            return -1;
        }
    }
}

/* A tracked member's value that must be an object or null: the index of its first member (`members` set),
 * or the index past a null or an empty object; -1 for anything else. */
static inline i64 open_object(bytes_t p, i64 i, i64 n, int *members) {
    *members = 0;
    int c = at(p, i, n);
    if (c == 110 && null_at(p, i, n)) return i + 4;
    if (c != 123) return -1;
    i = space(p, i + 1, n);
    if (at(p, i, n) == 125) return i + 1;
    *members = 1;
    return i;
}

/* A string or null key part at i, its span stored in slot `slot` of `spans`: index past it, or -1 to hand
 * the line back. */
static inline i64 key_string(bytes_t p, i64 i, i64 n, i64 *spans, int slot) {
    int c = at(p, i, n);
    if (c == 34) {
        int escaped;
        i64 end = string_end(p, i + 1, n, &escaped);
        if (end < 0 || escaped) return -1;
        spans[2 * slot] = i + 1;
        spans[2 * slot + 1] = end - 1;
        return end;
    }
    if (c == 110 && null_at(p, i, n)) return i + 4;
    return -1;
}

/* date: an object whose utc gives the day, or null. Index past it, or -1. */
static i64 read_date(bytes_t p, i64 i, i64 n, i64 *spans) {
    int members, seen = 0, closed, escaped;
    i64 start, end;
    i = open_object(p, i, n, &members);
    if (!members) return i;
    for (;;) {
        i = member(p, i, n, &start, &end, &escaped);
        if (i < 0 || escaped) return -1;
        if (end - start == 3 && pack(p, start, 3, n) == W_UTC) {
            if (seen) return -1;
            seen = 1;
            if (at(p, i, n) == 34) {
                i64 stop = key_string(p, i, n, spans, DAY);
                if (stop < 0) return -1;
                i64 day_end = i + 11 < stop - 1 ? i + 11 : stop - 1;
                for (i64 k = i + 1; k < day_end; k++) {
                    if (p[k] >= 128) return -1; /* ten characters, not ten bytes: left to the line reader */
                }
                spans[2 * DAY + 1] = day_end;
                i = stop;
            } else {
                i = key_string(p, i, n, spans, DAY);
            }
        } else {
            i = skip_value(p, i, n);
        }
        i = next_member(p, i, n, &closed);
        if (i < 0 || closed) return i;
    }
}

/* coordinates: an object of numbers or nulls, or null. Index past it, or -1. */
static i64 read_coordinates(bytes_t p, i64 i, i64 n, double *coordinates) {
    int members, seen = 0, closed, escaped;
    i64 start, end;
    i = open_object(p, i, n, &members);
    if (!members) return i;
    for (;;) {
        i = member(p, i, n, &start, &end, &escaped);
        if (i < 0 || escaped) return -1;
        int which = -1;
        if (end - start == 8 && pack(p, start, 8, n) == W_LATITUDE) which = 0;
        else if (end - start == 9 && pack(p, start, 8, n) == W_LONGITUDE && p[start + 8] == 101) which = 1; /* e */
        if (which >= 0) {
            if (seen & (1 << which)) return -1;
            seen |= 1 << which;
            int c = at(p, i, n);
            if (c == 110 && null_at(p, i, n)) {
                i += 4;
            } else if (c == 45 || is_digit(c)) {
                int outcome;
                double x;
                i = number(p, i, n, &outcome, &x);
                if (outcome != EXACT) return -1;
                coordinates[which] = x;
            } else {
                return -1;
            }
        } else {
            i = skip_value(p, i, n);
        }
        i = next_member(p, i, n, &closed);
        if (i < 0 || closed) return i;
    }
}

static inline int top_key(bytes_t p, i64 start, i64 end, i64 n) {
    i64 size = end - start;
    if (size > 11) return KEY_OTHER;
    u64 word = pack(p, start, size < 8 ? size : 8, n);
    switch (size) {
    case 4:
        if (word == W_DATE) return KEY_DATE;
        if (word == W_UNIT) return UNIT;
        if (word == W_CITY) return CITY;
        break;
    case 5:
        if (word == W_VALUE) return KEY_VALUE;
        break;
    case 7:
        if (word == W_COUNTRY) return COUNTRY;
        break;
    case 8:
        if (word == W_LOCATION) return LOCATION;
        break;
    case 9:
        if (word == W_PARAMETER && p[start + 8] == 114) return PARAMETER; /* r */
        break;
    case 11:
        if (word == W_COORDINATES && pack(p, start + 8, 3, n) == W_COORDINATES_TAIL) return KEY_COORDINATES;
        break;
    }
    return KEY_OTHER;
}

/* The record whose { is at i: the index past it; its outcome and value. Key parts land in `spans` (start,
 * end per slot; -1 for null) and `coordinates` (NaN for null: the scanner never decides a NaN itself). */
static inline i64 record(bytes_t p, i64 i, i64 n, i64 *spans, double *coordinates, int *outcome, double *value) {
    for (int k = 0; k < 2 * STRING_SLOTS; k++) spans[k] = -1;
    coordinates[0] = coordinates[1] = NAN;
    *value = 0.0;
    *outcome = INVALID; /* no value yet */
    int seen = 0, closed, escaped;
    i64 start, end;
    i = space(p, i + 1, n);
    if (at(p, i, n) == 125) return i + 1;
    for (;;) {
        i = member(p, i, n, &start, &end, &escaped);
        if (i < 0 || escaped) { /* an escaped key may spell a tracked one ("v\u0061lue"): the line reader decides */
            *outcome = HANDED_BACK;
            return 0;
        }
        int key = top_key(p, start, end, n);
        if (key != KEY_OTHER) {
            if (seen & (1 << key)) {
                *outcome = HANDED_BACK;
                return i;
            }
            seen |= 1 << key;
        }
        if (key == KEY_OTHER) {
            if (at(p, i, n) == 34) i = string_end(p, i + 1, n, &escaped); /* most untracked values are strings */
            else i = skip_value(p, i, n);
        } else if (key < STRING_SLOTS) {
            i = key_string(p, i, n, spans, key);
        } else if (key == KEY_DATE) {
            i = read_date(p, i, n, spans);
        } else if (key == KEY_COORDINATES) {
            i = read_coordinates(p, i, n, coordinates);
        } else { /* value */
            int c = at(p, i, n);
            if (c == 45 || is_digit(c)) {
                int number_outcome;
                double x = 0.0;
                i = number(p, i, n, &number_outcome, &x);
                if (number_outcome != EXACT) {
                    *outcome = HANDED_BACK;
                    return i;
                }
                if (x >= 0.0) {
                    *outcome = VALID;
                    *value = x;
                } else {
                    *outcome = INVALID;
                }
            } else { /* a string, boolean, null, array or object: an invalid reading */
                *outcome = INVALID;
                i = skip_value(p, i, n);
            }
        }
        i = next_member(p, i, n, &closed);
        if (i < 0) {
            *outcome = HANDED_BACK;
            return 0;
        }
        if (closed) return i;
    }
}

/* ---- groups ---------------------------------------------------------------------------------------------- */

/* One step of the group hash (FNV-1a's multiply over 64-bit words rather than bytes). */
static inline u64 mix(u64 h, u64 x) {
    h = (h ^ x) * UINT64_C(0x100000001B3);
    return h ^ (h >> 32);
}

typedef struct {
    PyObject_HEAD
    i64 records, invalid; /* lines the scanner decided, and of them not a valid reading */
    i64 groups, capacity;
    i64 *spans;          /* per group, per string slot: start and end in `keys`, -1 for null */
    double *coordinates; /* per group: latitude, longitude */
    unsigned char *nulls; /* per group: NULL_LATITUDE | NULL_LONGITUDE */
    double *sums, *maxima;
    i64 *counts;
    u64 *hashes;
    i64 *slots; /* open addressing: group index or -1; 2 * capacity of them */
    unsigned char *keys; /* each group's string parts one after another */
    i64 keys_used, keys_size;
    int exports; /* buffers scanned right now (released with the GIL): no add or encode meanwhile */
} Groups;

/* A key of a line: its string parts' spans into `base` (length `n`), coordinates and which are null. */
typedef struct {
    bytes_t base;
    i64 n;
    i64 spans[2 * STRING_SLOTS];
    double coordinates[2];
    int nulls;
} Key;

static u64 key_hash(const Key *key) {
    u64 h = UINT64_C(0xCBF29CE484222325);
    for (int slot = 0; slot < STRING_SLOTS; slot++) {
        i64 first = key->spans[2 * slot], last = key->spans[2 * slot + 1];
        if (first < 0) {
            h = mix(h, 0x1FF);
            continue;
        }
        i64 k = first;
        for (; k + 8 <= last; k += 8) h = mix(h, load_word(key->base, k));
        h = mix(h, pack(key->base, k, last - k, key->n));
        h = mix(h, 0x100 + (u64)(last - first));
    }
    for (int c = 0; c < 2; c++) {
        double x = key->coordinates[c];
        if (key->nulls & (1 << c)) h = mix(h, 0x2FF);
        else if (x != x) h = mix(h, 0x4FF);
        else h = mix(h, fabs(x) < 1e12 ? (u64)(i64)(x * 1e6) : 0x3FF); /* -0.0 and 0.0 hash alike */
    }
    return h ^ (h >> 29);
}

static inline int same_key(const Groups *self, i64 g, const Key *key) {
    if (self->nulls[g] != key->nulls) return 0;
    for (int c = 0; c < 2; c++) {
        double a = key->coordinates[c], b = self->coordinates[2 * g + c];
        if (!(key->nulls & (1 << c)) && a != b && !(a != a && b != b)) return 0;
    }
    const i64 *spans = self->spans + 2 * STRING_SLOTS * g;
    for (int slot = 0; slot < STRING_SLOTS; slot++) {
        i64 first = key->spans[2 * slot], last = key->spans[2 * slot + 1];
        i64 other = spans[2 * slot], other_last = spans[2 * slot + 1];
        if ((first < 0) != (other < 0)) return 0;
        if (first < 0) continue;
        i64 size = last - first;
        if (size != other_last - other) return 0;
        i64 k = 0;
        for (; k + 8 <= size; k += 8) {
            if (load_word(key->base, first + k) != load_word(self->keys, other + k)) return 0;
        }
        if (pack(key->base, first + k, size - k, key->n) != pack(self->keys, other + k, size - k, self->keys_size))
            return 0;
    }
    return 1;
}

static int grow(void **array, i64 count, size_t item) {
    void *grown = realloc(*array, (size_t)count * item);
    if (grown == NULL) return -1;
    *array = grown;
    return 0;
}

static int rehash(Groups *self, i64 capacity) {
    i64 *slots = malloc((size_t)(2 * capacity) * sizeof(i64));
    if (slots == NULL) return -1;
    for (i64 k = 0; k < 2 * capacity; k++) slots[k] = -1;
    i64 mask = 2 * capacity - 1;
    for (i64 g = 0; g < self->groups; g++) {
        i64 at_ = (i64)(self->hashes[g] & (u64)mask);
        while (slots[at_] >= 0) at_ = (at_ + 1) & mask;
        slots[at_] = g;
    }
    free(self->slots);
    self->slots = slots;
    return 0;
}

static int reserve(Groups *self, i64 capacity) {
    if (grow((void **)&self->spans, capacity, 2 * STRING_SLOTS * sizeof(i64)) ||
        grow((void **)&self->coordinates, capacity, 2 * sizeof(double)) ||
        grow((void **)&self->nulls, capacity, 1) || grow((void **)&self->sums, capacity, sizeof(double)) ||
        grow((void **)&self->maxima, capacity, sizeof(double)) || grow((void **)&self->counts, capacity, sizeof(i64)) ||
        grow((void **)&self->hashes, capacity, sizeof(u64)) || rehash(self, capacity))
        return -1;
    self->capacity = capacity;
    return 0;
}

/* The group of `key`, added if it is new (`added` set; its aggregates are the caller's to set); -1 when out
 * of memory. */
static inline i64 group_of(Groups *self, const Key *key, int *added) {
    *added = 0;
    u64 h = key_hash(key);
    i64 mask = 2 * self->capacity - 1;
    i64 probe = (i64)(h & (u64)mask);
    for (;;) {
        i64 g = self->slots[probe];
        if (g < 0) break;
        if (self->hashes[g] == h && same_key(self, g, key)) return g;
        probe = (probe + 1) & mask;
    }
    if (self->groups == self->capacity) { /* grow the groups and rehash into a table twice as large */
        if (reserve(self, 2 * self->capacity)) return -1;
        mask = 2 * self->capacity - 1;
        probe = (i64)(h & (u64)mask);
        while (self->slots[probe] >= 0) probe = (probe + 1) & mask;
    }
    i64 size = 0;
    for (int slot = 0; slot < STRING_SLOTS; slot++) {
        if (key->spans[2 * slot] >= 0) size += key->spans[2 * slot + 1] - key->spans[2 * slot];
    }
    if (self->keys_used + size > self->keys_size) {
        i64 keys_size = 2 * self->keys_size > self->keys_used + size ? 2 * self->keys_size : self->keys_used + size;
        if (grow((void **)&self->keys, keys_size, 1)) return -1;
        self->keys_size = keys_size;
    }
    /* Each group's key bytes are copied once: comparing a line's key with a group's then reads this compact
     * store (cache-resident) instead of the group's first line, somewhere in the object (a cache miss a part). */
    i64 g = self->groups++;
    self->slots[probe] = g;
    self->hashes[g] = h;
    i64 *spans = self->spans + 2 * STRING_SLOTS * g;
    for (int slot = 0; slot < STRING_SLOTS; slot++) {
        i64 first = key->spans[2 * slot], last = key->spans[2 * slot + 1];
        if (first < 0) {
            spans[2 * slot] = spans[2 * slot + 1] = -1;
            continue;
        }
        spans[2 * slot] = self->keys_used;
        memcpy(self->keys + self->keys_used, key->base + first, (size_t)(last - first));
        self->keys_used += last - first;
        spans[2 * slot + 1] = self->keys_used;
    }
    self->coordinates[2 * g] = key->coordinates[0];
    self->coordinates[2 * g + 1] = key->coordinates[1];
    self->nulls[g] = (unsigned char)key->nulls;
    *added = 1;
    return g;
}

/* Spans of the lines handed back, grown as needed (a C array: the scan runs without the GIL). */
typedef struct {
    i64 *spans;
    i64 count, size;
} HandedBack;

static int hand_back(HandedBack *out, i64 start, i64 end) {
    if (out->count == out->size) {
        i64 size = out->size ? 2 * out->size : 16;
        if (grow((void **)&out->spans, 2 * size, sizeof(i64))) return -1;
        out->size = size;
    }
    out->spans[2 * out->count] = start;
    out->spans[2 * out->count + 1] = end;
    out->count++;
    return 0;
}

/* Aggregate the lines of p[:length]; only whole lines unless `final`. Bytes consumed, or -1 (out of memory). */
static i64 scan_lines(Groups *self, bytes_t p, i64 length, int final, HandedBack *handed_back) {
    i64 n = length;
    if (!final) {
        while (n > 0 && p[n - 1] != 10) n--;
    }
    Key key;
    key.base = p;
    key.n = n;
    i64 records = self->records, invalid = self->invalid;
    i64 position = 0;
    while (position < n) {
        i64 start = position;
        i64 i = space(p, position, n);
        if (i >= n) break;
        if (p[i] == 10) { /* a blank line */
            position = i + 1;
            continue;
        }
        int outcome = HANDED_BACK;
        double value = 0.0;
        if (p[i] == 123) {
            i = record(p, i, n, key.spans, key.coordinates, &outcome, &value);
            if (outcome != HANDED_BACK) {
                i = space(p, i, n);
                if (i < n && p[i] != 10) outcome = HANDED_BACK;
            }
        }
        if (outcome == HANDED_BACK) {
            i64 end = start;
            while (end < n && p[end] != 10) end++;
            if (hand_back(handed_back, start, end)) return -1;
            position = end + 1;
            continue;
        }
        position = i + 1;
        records++;
        if (outcome == INVALID) {
            invalid++;
            continue;
        }
        key.nulls = (key.coordinates[0] != key.coordinates[0] ? NULL_LATITUDE : 0) |
                    (key.coordinates[1] != key.coordinates[1] ? NULL_LONGITUDE : 0);
        int added;
        i64 g = group_of(self, &key, &added);
        if (g < 0) return -1;
        if (added) { /* the first value as it is, as the line reader keeps it (-0.0 stays -0.0) */
            self->sums[g] = self->maxima[g] = value;
            self->counts[g] = 1;
        } else {
            self->sums[g] += value;
            self->counts[g] += 1;
            if (value > self->maxima[g]) self->maxima[g] = value;
        }
    }
    self->records = records;
    self->invalid = invalid;
    return n;
}

static int Groups_init(Groups *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":Groups", names)) return -1;
    if (self->capacity) return 0; /* already set up */
    self->keys_size = 64 * 1024;
    self->keys = malloc((size_t)self->keys_size);
    if (self->keys == NULL || reserve(self, 1024)) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void Groups_dealloc(Groups *self) {
    free(self->spans);
    free(self->coordinates);
    free(self->nulls);
    free(self->sums);
    free(self->maxima);
    free(self->counts);
    free(self->hashes);
    free(self->slots);
    free(self->keys);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int ready(Groups *self) {
    if (self->capacity == 0) {
        PyErr_SetString(PyExc_RuntimeError, "Groups.__init__ was not called");
        return 0;
    }
    if (self->exports) {
        PyErr_SetString(PyExc_RuntimeError, "Groups is scanning in another thread");
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(scan_doc,
             "scan(buffer, length, final) -> (consumed, handed_back)\n\n"
             "Aggregate the lines of buffer[:length] (one block of an object): only whole lines, unless `final` (the\n"
             "object's last block, its last line maybe without a newline). Key bytes are copied, so the caller may\n"
             "reuse the buffer. Returns the bytes taken (the rest, a partial line, starts the next block; 0 when the\n"
             "block holds no whole line: the caller needs a larger buffer) and the (start, end) spans of the lines\n"
             "handed back to the line reader (blank lines are skipped, not counted). Runs without the GIL.");

static PyObject *Groups_scan(Groups *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t length;
    int final;
    if (!ready(self)) return NULL;
    if (!PyArg_ParseTuple(args, "y*np:scan", &view, &length, &final)) return NULL;
    if (length < 0 || length > view.len) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "length %zd is outside the buffer's %zd bytes", length, view.len);
    }
    HandedBack handed_back = {NULL, 0, 0};
    i64 consumed;
    self->exports++;
    Py_BEGIN_ALLOW_THREADS
    consumed = scan_lines(self, (bytes_t)view.buf, (i64)length, final, &handed_back);
    Py_END_ALLOW_THREADS
    self->exports--;
    PyBuffer_Release(&view);
    if (consumed < 0) {
        free(handed_back.spans);
        return PyErr_NoMemory();
    }
    PyObject *spans = PyList_New((Py_ssize_t)handed_back.count);
    for (i64 k = 0; spans != NULL && k < handed_back.count; k++) {
        PyObject *span = Py_BuildValue("(LL)", (long long)handed_back.spans[2 * k],
                                       (long long)handed_back.spans[2 * k + 1]);
        if (span == NULL) Py_CLEAR(spans);
        else PyList_SET_ITEM(spans, (Py_ssize_t)k, span);
    }
    free(handed_back.spans);
    if (spans == NULL) return NULL;
    return Py_BuildValue("(LN)", (long long)consumed, spans);
}

/* Another table's aggregates of group `g` into its own: set if the group was just `added`, else sums and counts
 * added and the larger maximum kept (Groups.add and Groups.merge). */
static inline void fold(Groups *self, i64 g, int added, double sum, i64 count, double maximum) {
    if (added) {
        self->sums[g] = sum;
        self->counts[g] = count;
        self->maxima[g] = maximum;
    } else {
        self->sums[g] += sum;
        self->counts[g] += count;
        if (maximum > self->maxima[g]) self->maxima[g] = maximum;
    }
}

/* A key part from Python: a str (its UTF-8 bytes appended to `text`) or None. */
static int key_part(PyObject *part, Key *key, int slot, char *text, i64 *used) {
    if (part == Py_None) {
        key->spans[2 * slot] = key->spans[2 * slot + 1] = -1;
        return 0;
    }
    if (!PyUnicode_Check(part)) {
        PyErr_Format(PyExc_TypeError, "a key part must be str or None, not %.100s", Py_TYPE(part)->tp_name);
        return -1;
    }
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(part, &size);
    if (utf8 == NULL) return -1;
    memcpy(text + *used, utf8, (size_t)size);
    key->spans[2 * slot] = *used;
    *used += size;
    key->spans[2 * slot + 1] = *used;
    return 0;
}

static int coordinate(PyObject *part, Key *key, int which) {
    if (part == Py_None) {
        key->coordinates[which] = NAN;
        key->nulls |= 1 << which;
        return 0;
    }
    double x = PyFloat_AsDouble(part);
    if (x == -1.0 && PyErr_Occurred()) return -1;
    key->coordinates[which] = x;
    return 0;
}

PyDoc_STRVAR(add_doc,
             "add(country, city, location, latitude, longitude, parameter, unit, day, sum, count, maximum)\n\n"
             "Merge one group of the line reader into these groups: its sum and count are added and its maximum\n"
             "taken where the key is already here. Strings are str or None, coordinates float or None.");

static PyObject *Groups_add(Groups *self, PyObject *args) {
    PyObject *parts[8];
    double sum, maximum;
    long long count;
    if (!ready(self)) return NULL;
    if (!PyArg_ParseTuple(args, "OOOOOOOOdLd:add", &parts[0], &parts[1], &parts[2], &parts[3], &parts[4], &parts[5],
                          &parts[6], &parts[7], &sum, &count, &maximum))
        return NULL;
    static const int string_parts[STRING_SLOTS] = {0, 1, 2, 5, 6, 7}; /* slot order: country ... day */
    i64 total = 0;
    for (int slot = 0; slot < STRING_SLOTS; slot++) {
        PyObject *part = parts[string_parts[slot]];
        if (PyUnicode_Check(part)) {
            Py_ssize_t size;
            if (PyUnicode_AsUTF8AndSize(part, &size) == NULL) return NULL;
            total += size;
        }
    }
    char *text = malloc((size_t)total + 1);
    if (text == NULL) return PyErr_NoMemory();
    Key key;
    key.nulls = 0;
    i64 used = 0;
    int failed = 0;
    for (int slot = 0; slot < STRING_SLOTS && !failed; slot++) failed = key_part(parts[string_parts[slot]], &key, slot, text, &used);
    if (!failed) failed = coordinate(parts[3], &key, 0) || coordinate(parts[4], &key, 1);
    i64 g = -1;
    int added = 0;
    if (!failed) {
        key.base = (bytes_t)text;
        key.n = used;
        g = group_of(self, &key, &added);
    }
    free(text);
    if (failed) return NULL;
    if (g < 0) return PyErr_NoMemory();
    fold(self, g, added, sum, count, maximum);
    Py_RETURN_NONE;
}


/* ---- the partial's encoding ------------------------------------------------------------------------------ */

/* Bytes rounded up to a multiple of 8, so that every buffer of the partial starts 8-aligned. */
static inline i64 padded(i64 size) { return (size + 7) & ~INT64_C(7); }

/* The partial's key columns in PARTIAL_COLUMNS order (encode() writes them so, merge() reads them so): a string
 * slot, or -1 and -2 for latitude and longitude. */
static const int KEY_COLUMN_ORDER[8] = {COUNTRY, CITY, LOCATION, -1, -2, PARAMETER, UNIT, DAY};

/* ---- the reduce: partials merged into one table ------------------------------------------------------- */

/* A cursor over an encoded partial (Groups.encode's layout); `failed` once a buffer would run past its end. */
typedef struct {
    bytes_t base;
    i64 size, at;
    int failed;
} Reader;

static bytes_t take(Reader *r, i64 size) {
    if (r->failed || size < 0 || padded(size) > r->size - r->at) {
        r->failed = 1;
        return NULL;
    }
    bytes_t out = r->base + r->at;
    r->at += padded(size);
    return out;
}

static i64 take_i64(Reader *r) {
    bytes_t p = take(r, 8);
    i64 x = 0;
    if (p != NULL) memcpy(&x, p, 8);
    return x;
}

/* Whether `row` is not null in an Arrow validity bitmap (none: no row is null). */
static inline int valid_bit(bytes_t validity, i64 row) {
    return validity == NULL || (validity[row / 8] >> (row % 8)) & 1;
}

/* One string column of a partial: which rows are null, each row's index, the distinct strings' offsets and text. */
typedef struct {
    bytes_t validity, indices, offsets, text;
    i64 distinct, text_bytes;
} StringColumn;

typedef struct {
    bytes_t validity, values;
} CoordinateColumn;

PyDoc_STRVAR(merge_doc,
             "merge(partial)\n\n"
             "Merge an encoded partial (the bytes encode() gives, decompressed) into these groups: the reduce.\n"
             "Per key, sums and counts are added and the maximum taken, keys compared as the scan compares them, so\n"
             "merging the partials of an object's parts gives the groups of the whole object. Partials merge in call\n"
             "order and a group's sum adds them in that order. ValueError if the bytes are not a whole, consistent\n"
             "partial; then no group has changed.");

static PyObject *Groups_merge(Groups *self, PyObject *args) {
    Py_buffer view;
    if (!ready(self)) return NULL;
    if (!PyArg_ParseTuple(args, "y*:merge", &view)) return NULL;
    Reader r = {(bytes_t)view.buf, (i64)view.len, 0, 0};
    const char *damage = NULL;
    bytes_t magic = take(&r, 8);
    if (magic == NULL || memcmp(magic, "AQPART01", 8) != 0) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "not a map partial (it does not start AQPART01); the map and the reduce "
                                              "must run the same aqstudy version");
    }
    i64 rows = take_i64(&r), bitmap = (rows + 7) / 8;
    if (rows < 0 || rows > r.size) r.failed = 1;
    StringColumn strings[STRING_SLOTS];
    CoordinateColumn coordinates[2];
    for (int column = 0; column < 8 && !r.failed; column++) {
        if (KEY_COLUMN_ORDER[column] < 0) {
            CoordinateColumn *c = &coordinates[-KEY_COLUMN_ORDER[column] - 1];
            i64 nulls = take_i64(&r);
            c->validity = nulls ? take(&r, bitmap) : NULL;
            c->values = take(&r, 8 * rows);
            continue;
        }
        StringColumn *s = &strings[KEY_COLUMN_ORDER[column]];
        s->distinct = take_i64(&r);
        i64 nulls = take_i64(&r);
        s->text_bytes = take_i64(&r);
        if (s->distinct < 0 || s->distinct > r.size || s->text_bytes < 0) r.failed = 1;
        s->validity = nulls ? take(&r, bitmap) : NULL;
        s->indices = take(&r, 4 * rows);
        s->offsets = take(&r, 4 * (s->distinct + 1));
        s->text = take(&r, s->text_bytes);
        for (i64 k = 0; !r.failed && k <= s->distinct; k++) { /* offsets rise from 0 to the text's end */
            int32_t offset, next;
            memcpy(&offset, s->offsets + 4 * k, 4);
            if (k == 0 && offset != 0) damage = "its strings' offsets do not start at 0";
            if (k < s->distinct) {
                memcpy(&next, s->offsets + 4 * (k + 1), 4);
                if (next < offset) damage = "its strings' offsets fall";
            } else if (offset != s->text_bytes) {
                damage = "its strings' offsets do not end at their text's end";
            }
            if (damage) break;
        }
        if (damage) break;
    }
    bytes_t sums = take(&r, 8 * rows), counts = take(&r, 8 * rows), maxima = take(&r, 8 * rows);
    if (r.failed) damage = "it ends before its data does";
    else if (!damage && r.at != r.size) damage = "it holds more than its data";
    for (int slot = 0; slot < STRING_SLOTS && !damage; slot++) { /* every index checked before anything merges */
        for (i64 row = 0; row < rows; row++) {
            int32_t index;
            memcpy(&index, strings[slot].indices + 4 * row, 4);
            if (valid_bit(strings[slot].validity, row) && (index < 0 || index >= strings[slot].distinct)) {
                damage = "a row's string index is outside its dictionary";
                break;
            }
        }
    }
    for (i64 row = 0; !damage && row < rows; row++) {
        Key key;
        key.base = r.base;
        key.n = r.size;
        key.nulls = 0;
        for (int slot = 0; slot < STRING_SLOTS; slot++) {
            StringColumn *s = &strings[slot];
            int32_t index, first, last;
            memcpy(&index, s->indices + 4 * row, 4);
            if (!valid_bit(s->validity, row)) {
                key.spans[2 * slot] = key.spans[2 * slot + 1] = -1;
                continue;
            }
            memcpy(&first, s->offsets + 4 * index, 4);
            memcpy(&last, s->offsets + 4 * (index + 1), 4);
            key.spans[2 * slot] = (s->text - r.base) + first;
            key.spans[2 * slot + 1] = (s->text - r.base) + last;
        }
        for (int c = 0; c < 2; c++) {
            if (valid_bit(coordinates[c].validity, row)) {
                memcpy(&key.coordinates[c], coordinates[c].values + 8 * row, 8);
            } else {
                key.coordinates[c] = NAN;
                key.nulls |= 1 << c;
            }
        }
        double sum, maximum;
        i64 count;
        memcpy(&sum, sums + 8 * row, 8);
        memcpy(&count, counts + 8 * row, 8);
        memcpy(&maximum, maxima + 8 * row, 8);
        int added;
        i64 g = group_of(self, &key, &added);
        if (g < 0) {
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        fold(self, g, added, sum, count, maximum);
    }
    PyBuffer_Release(&view);
    if (damage)
        return PyErr_Format(PyExc_ValueError,
                            "a map partial of %lld bytes is damaged (%s); the map and the reduce must run the same "
                            "aqstudy version", (long long)r.size, damage);
    Py_RETURN_NONE;
}

/* One string slot dictionary-encoded: each group's index into the slot's distinct strings (-1 for null). */
typedef struct {
    int32_t *indices;
    i64 distinct, nulls, text_bytes;
    i64 *firsts; /* per distinct string: the group it was first seen in */
} Dictionary;

static int dictionary_encode(const Groups *self, int slot, Dictionary *out) {
    i64 groups = self->groups, size = 16;
    while (size < 2 * groups) size *= 2;
    i64 *table = malloc((size_t)size * sizeof(i64));
    out->indices = malloc((size_t)(groups ? groups : 1) * sizeof(int32_t));
    out->firsts = malloc((size_t)(groups ? groups : 1) * sizeof(i64));
    if (table == NULL || out->indices == NULL || out->firsts == NULL) {
        free(table);
        return -1;
    }
    for (i64 k = 0; k < size; k++) table[k] = -1;
    out->distinct = out->nulls = out->text_bytes = 0;
    for (i64 g = 0; g < groups; g++) {
        i64 first = self->spans[2 * STRING_SLOTS * g + 2 * slot], last = self->spans[2 * STRING_SLOTS * g + 2 * slot + 1];
        if (first < 0) {
            out->indices[g] = -1;
            out->nulls++;
            continue;
        }
        u64 h = UINT64_C(0xCBF29CE484222325);
        i64 k = first;
        for (; k + 8 <= last; k += 8) h = mix(h, load_word(self->keys, k));
        h = mix(mix(h, pack(self->keys, k, last - k, self->keys_size)), 0x100 + (u64)(last - first));
        i64 probe = (i64)(h & (u64)(size - 1));
        for (;;) {
            i64 d = table[probe];
            if (d < 0) {
                table[probe] = out->distinct;
                out->firsts[out->distinct] = g;
                out->indices[g] = (int32_t)out->distinct++;
                out->text_bytes += last - first;
                break;
            }
            i64 other = self->spans[2 * STRING_SLOTS * out->firsts[d] + 2 * slot];
            i64 other_last = self->spans[2 * STRING_SLOTS * out->firsts[d] + 2 * slot + 1];
            if (other_last - other == last - first &&
                memcmp(self->keys + other, self->keys + first, (size_t)(last - first)) == 0) {
                out->indices[g] = (int32_t)d;
                break;
            }
            probe = (probe + 1) & (size - 1);
        }
    }
    free(table);
    return 0;
}

static inline unsigned char *put_i64(unsigned char *at_, i64 x) {
    memcpy(at_, &x, 8);
    return at_ + 8;
}

/* The validity bitmap of `rows` rows (Arrow's: bit r of byte r/8 set when row r is not null). */
static unsigned char *put_validity(unsigned char *at_, i64 rows, const int32_t *indices, const unsigned char *nulls,
                                   int null_bit) {
    memset(at_, 0, (size_t)padded((rows + 7) / 8));
    for (i64 r = 0; r < rows; r++) {
        int valid = indices ? indices[r] >= 0 : !(nulls[r] & null_bit);
        if (valid) at_[r / 8] |= (unsigned char)(1 << (r % 8));
    }
    return at_ + padded((rows + 7) / 8);
}

PyDoc_STRVAR(encode_doc,
             "encode() -> bytes\n\n"
             "The groups as a partial: a flat little-endian table, every buffer 8-aligned, that Arrow arrays are made\n"
             "over without a copy. b'AQPART01', int64 rows, then per column in PARTIAL_COLUMNS order:\n"
             "- string (country, city, location, parameter, unit, day), dictionary-encoded: int64 distinct, int64\n"
             "  nulls, int64 text bytes; the validity bitmap (when nulls > 0); int32 indices (-1 for null); int32\n"
             "  offsets of the distinct strings (distinct + 1); their UTF-8 text.\n"
             "- latitude, longitude: int64 nulls; the validity bitmap (when nulls > 0); float64 values.\n"
             "- sum, count, max: float64, int64, float64 values.");

static PyObject *Groups_encode(Groups *self, PyObject *Py_UNUSED(ignored)) {
    if (!ready(self)) return NULL;
    i64 rows = self->groups, bitmap = padded((rows + 7) / 8);
    Dictionary dictionaries[STRING_SLOTS];
    memset(dictionaries, 0, sizeof dictionaries);
    i64 size = 16;
    int failed = 0;
    for (int slot = 0; slot < STRING_SLOTS && !failed; slot++) {
        Dictionary *d = &dictionaries[slot];
        failed = dictionary_encode(self, slot, d);
        if (!failed && d->text_bytes > INT32_MAX) { /* Arrow's string offsets are 32-bit */
            for (int k = 0; k <= slot; k++) {
                free(dictionaries[k].indices);
                free(dictionaries[k].firsts);
            }
            return PyErr_Format(PyExc_OverflowError, "a partial's distinct key strings exceed 2 GiB; split the object");
        }
        if (!failed)
            size += 24 + (d->nulls ? bitmap : 0) + padded(4 * rows) + padded(4 * (d->distinct + 1)) +
                    padded(d->text_bytes);
    }
    i64 coordinate_nulls[2] = {0, 0};
    for (i64 g = 0; g < rows; g++) {
        coordinate_nulls[0] += (self->nulls[g] & NULL_LATITUDE) != 0;
        coordinate_nulls[1] += (self->nulls[g] & NULL_LONGITUDE) != 0;
    }
    for (int c = 0; c < 2; c++) size += 8 + (coordinate_nulls[c] ? bitmap : 0) + 8 * rows;
    size += 3 * 8 * rows;
    PyObject *out = failed ? NULL : PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (out != NULL) {
        unsigned char *at_ = (unsigned char *)PyBytes_AS_STRING(out);
        memset(at_, 0, (size_t)size); /* the padding */
        memcpy(at_, "AQPART01", 8);
        at_ = put_i64(at_ + 8, rows);
        for (int column = 0; column < 8; column++) {
            if (KEY_COLUMN_ORDER[column] < 0) { /* a coordinate */
                int c = -KEY_COLUMN_ORDER[column] - 1;
                at_ = put_i64(at_, coordinate_nulls[c]);
                if (coordinate_nulls[c]) at_ = put_validity(at_, rows, NULL, self->nulls, 1 << c);
                for (i64 g = 0; g < rows; g++) memcpy(at_ + 8 * g, &self->coordinates[2 * g + c], 8);
                at_ += 8 * rows;
                continue;
            }
            int slot = KEY_COLUMN_ORDER[column];
            Dictionary *d = &dictionaries[slot];
            at_ = put_i64(put_i64(put_i64(at_, d->distinct), d->nulls), d->text_bytes);
            if (d->nulls) at_ = put_validity(at_, rows, d->indices, NULL, 0);
            memcpy(at_, d->indices, (size_t)(4 * rows));
            at_ += padded(4 * rows);
            int32_t *offsets = (int32_t *)at_;
            unsigned char *text = at_ + padded(4 * (d->distinct + 1));
            int32_t offset = 0;
            for (i64 k = 0; k < d->distinct; k++) {
                const i64 *spans = self->spans + 2 * STRING_SLOTS * d->firsts[k] + 2 * slot;
                offsets[k] = offset;
                memcpy(text + offset, self->keys + spans[0], (size_t)(spans[1] - spans[0]));
                offset += (int32_t)(spans[1] - spans[0]);
            }
            offsets[d->distinct] = offset;
            at_ = text + padded(d->text_bytes);
        }
        memcpy(at_, self->sums, (size_t)(8 * rows));
        memcpy(at_ + 8 * rows, self->counts, (size_t)(8 * rows));
        memcpy(at_ + 16 * rows, self->maxima, (size_t)(8 * rows));
    }
    for (int slot = 0; slot < STRING_SLOTS; slot++) {
        free(dictionaries[slot].indices);
        free(dictionaries[slot].firsts);
    }
    if (failed) return PyErr_NoMemory();
    return out;
}

static PyObject *Groups_get_records(Groups *self, void *closure) { return PyLong_FromLongLong(self->records); }
static PyObject *Groups_get_invalid(Groups *self, void *closure) { return PyLong_FromLongLong(self->invalid); }
static PyObject *Groups_len(Groups *self, void *closure) { return PyLong_FromLongLong(self->groups); }

static PyMethodDef Groups_methods[] = {
    {"scan", (PyCFunction)Groups_scan, METH_VARARGS, scan_doc},
    {"add", (PyCFunction)Groups_add, METH_VARARGS, add_doc},
    {"encode", (PyCFunction)Groups_encode, METH_NOARGS, encode_doc},
    {"merge", (PyCFunction)Groups_merge, METH_VARARGS, merge_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Groups_getset[] = {
    {"records", (getter)Groups_get_records, NULL, "records the scanner decided (handed-back lines not counted)", NULL},
    {"invalid_records", (getter)Groups_get_invalid, NULL, "of those, records that are not a valid reading", NULL},
    {"groups", (getter)Groups_len, NULL, "distinct keys so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject GroupsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "aqstudy.kernel._scanner.Groups",
    .tp_basicsize = sizeof(Groups),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("The groups of one object's valid readings: key parts, sum, count and max."),
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Groups_init,
    .tp_dealloc = (destructor)Groups_dealloc,
    .tp_methods = Groups_methods,
    .tp_getset = Groups_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_scanner",
    .m_doc = "The map's scanner and the partial's encoding, compiled ahead of time (see aqstudy.kernel.scanner).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__scanner(void) {
    init_words();
    if (PyType_Ready(&GroupsType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&GroupsType);
    if (PyModule_AddObject(m, "Groups", (PyObject *)&GroupsType) < 0) {
        Py_DECREF(&GroupsType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
