"""A small QR code reader for the tests: module grid in, text out.

Written from ISO/IEC 18004 rather than borrowed from the encoder, so that a
printed code which decodes here would decode in a phone's scanner too.  It reads
what the documents print (versions 1-10, error correction level M, numeric,
alphanumeric and byte segments) and refuses anything else; it corrects no
errors but checks every Reed-Solomon block, so a damaged code fails loudly
instead of reading as something else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Matrix = Sequence[Sequence[bool]]  # True = dark, quiet zone not included


class QRReadError(ValueError):
    """The grid is not a readable QR code (or uses what this reader does not)."""


# Level M only: (blocks, codewords per block, data codewords per block).
_BLOCKS_M: dict[int, tuple[tuple[int, int, int], ...]] = {
    1: ((1, 26, 16),),
    2: ((1, 44, 28),),
    3: ((1, 70, 44),),
    4: ((2, 50, 32),),
    5: ((2, 67, 43),),
    6: ((4, 43, 27),),
    7: ((4, 49, 31),),
    8: ((2, 60, 38), (2, 61, 39)),
    9: ((3, 58, 36), (2, 59, 37)),
    10: ((4, 69, 43), (1, 70, 44)),
}
_ALIGNMENT: dict[int, tuple[int, ...]] = {
    1: (),
    2: (6, 18),
    3: (6, 22),
    4: (6, 26),
    5: (6, 30),
    6: (6, 34),
    7: (6, 22, 38),
    8: (6, 24, 42),
    9: (6, 26, 46),
    10: (6, 28, 50),
}
_EC_LEVELS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}
_MASKS: dict[int, Callable[[int, int], bool]] = {
    0: lambda i, j: (i + j) % 2 == 0,
    1: lambda i, j: i % 2 == 0,
    2: lambda i, j: j % 3 == 0,
    3: lambda i, j: (i + j) % 3 == 0,
    4: lambda i, j: (i // 2 + j // 3) % 2 == 0,
    5: lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    6: lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    7: lambda i, j: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
}
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _format_codes() -> dict[int, tuple[str, int]]:
    """Every valid 15-bit format word -> (error correction level, mask)."""
    codes = {}
    for data in range(32):
        rem = data << 10
        for shift in range(4, -1, -1):  # BCH(15,5), generator 0x537
            if rem & (1 << (shift + 10)):
                rem ^= 0x537 << shift
        codes[((data << 10) | rem) ^ 0x5412] = (_EC_LEVELS[data >> 3], data & 7)
    return codes


_FORMAT_CODES = _format_codes()


def _gf_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 512, [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        value <<= 1
        if value & 0x100:
            value ^= 0x11D
    for power in range(255, 512):
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _gf_tables()


def _syndromes_are_zero(codeword: Sequence[int], ec_count: int) -> bool:
    for i in range(ec_count):
        acc = 0
        for byte in codeword:  # Horner's rule at alpha^i, first byte highest degree
            acc = (_EXP[_LOG[acc] + i] if acc else 0) ^ byte
        if acc:
            return False
    return True


def _reserved(version: int) -> list[list[bool]]:
    """Modules that carry function patterns or format/version info, not data."""
    n = 17 + 4 * version
    reserved = [[False] * n for _ in range(n)]

    def mark(rows: range, cols: range) -> None:
        for r in rows:
            for c in cols:
                reserved[r][c] = True

    # Finders with separators and format info (the dark module included).
    mark(range(9), range(9))
    mark(range(9), range(n - 8, n))
    mark(range(n - 8, n), range(9))
    mark(range(n), range(6, 7))  # timing patterns
    mark(range(6, 7), range(n))
    centres = _ALIGNMENT[version]
    for r in centres:
        for c in centres:
            if (r, c) in ((6, 6), (6, centres[-1]), (centres[-1], 6)):
                continue  # would sit on a finder
            mark(range(r - 2, r + 3), range(c - 2, c + 3))
    if version >= 7:
        mark(range(6), range(n - 11, n - 8))
        mark(range(n - 11, n - 8), range(6))
    return reserved


def _check_finders(m: Matrix) -> None:
    n = len(m)
    for top, left in ((0, 0), (0, n - 7), (n - 7, 0)):
        for r in range(7):
            for c in range(7):
                ring = max(abs(r - 3), abs(c - 3))
                if m[top + r][left + c] != (ring != 2):
                    raise QRReadError(f"no finder pattern at ({top}, {left})")
    for i in range(8, n - 8):
        if m[6][i] != (i % 2 == 0) or m[i][6] != (i % 2 == 0):
            raise QRReadError("broken timing pattern")


def _read_format(m: Matrix) -> tuple[str, int]:
    n = len(m)
    rows = [*range(6), 7, 8, *range(n - 7, n)]
    vertical = sum(m[r][8] << i for i, r in enumerate(rows))
    cols = [*range(n - 1, n - 9, -1), 7, *range(5, -1, -1)]
    horizontal = sum(m[8][c] << i for i, c in enumerate(cols))
    if vertical != horizontal or vertical not in _FORMAT_CODES:
        raise QRReadError(f"unreadable format information ({vertical:015b}, {horizontal:015b})")
    return _FORMAT_CODES[vertical]


def _codewords(m: Matrix, version: int, mask: int) -> list[int]:
    n = len(m)
    reserved = _reserved(version)
    flip = _MASKS[mask]
    bits: list[int] = []
    upward = True
    col = n - 1
    while col > 0:
        if col == 6:  # the vertical timing pattern shifts the column pairs
            col -= 1
        for r in range(n - 1, -1, -1) if upward else range(n):
            for c in (col, col - 1):
                if not reserved[r][c]:
                    bits.append(int(m[r][c]) ^ flip(r, c))
        upward = not upward
        col -= 2
    return [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits) - 7, 8)]


def _deinterleave(codewords: Sequence[int], version: int) -> list[int]:
    layout = [(total, data) for count, total, data in _BLOCKS_M[version] for _ in range(count)]
    blocks: list[list[int]] = [[] for _ in layout]
    it = iter(codewords)
    for i in range(max(data for _, data in layout)):
        for block, (_, data) in zip(blocks, layout, strict=True):
            if i < data:
                block.append(next(it))
    ec_count = layout[0][0] - layout[0][1]
    for _ in range(ec_count):
        for block in blocks:
            block.append(next(it))
    data_codewords: list[int] = []
    for block, (_, data) in zip(blocks, layout, strict=True):
        if not _syndromes_are_zero(block, ec_count):
            raise QRReadError("Reed-Solomon check failed: the code is damaged")
        data_codewords.extend(block[:data])
    return data_codewords


def _segments(data: Sequence[int], version: int) -> str:
    bits = "".join(f"{byte:08b}" for byte in data)
    pos = 0

    def take(count: int) -> int:
        nonlocal pos
        if pos + count > len(bits):
            raise QRReadError("data runs past the end of the code")
        value = int(bits[pos : pos + count], 2)
        pos += count
        return value

    small = version <= 9
    text = ""
    while len(bits) - pos >= 4:
        mode = take(4)
        if mode == 0:  # terminator
            break
        if mode == 0b0001:  # numeric
            count = take(10 if small else 12)
            while count >= 3:
                text += f"{take(10):03d}"
                count -= 3
            if count:
                text += f"{take(4 if count == 1 else 7):0{count}d}"
        elif mode == 0b0010:  # alphanumeric
            count = take(9 if small else 11)
            while count >= 2:
                pair = take(11)
                text += _ALNUM[pair // 45] + _ALNUM[pair % 45]
                count -= 2
            if count:
                text += _ALNUM[take(6)]
        elif mode == 0b0100:  # bytes
            count = take(8 if small else 16)
            text += bytes(take(8) for _ in range(count)).decode("utf-8")
        else:
            raise QRReadError(f"unsupported segment mode {mode:04b}")
    return text


def decode(matrix: Matrix) -> str:
    """The text of a QR code given as its module grid (quiet zone stripped)."""
    n = len(matrix)
    version, rest = divmod(n - 17, 4)
    if rest or version not in _BLOCKS_M or any(len(row) != n for row in matrix):
        raise QRReadError(f"a {n}x{len(matrix[0]) if n else 0} grid is no QR code version 1-10")
    _check_finders(matrix)
    level, mask = _read_format(matrix)
    if level != "M":
        raise QRReadError(f"error correction level {level}; the documents print M")
    return _segments(_deinterleave(_codewords(matrix, version, mask), version), version)


def sample_modules(
    pixel: Callable[[float, float], int], width: float, height: float, *, border: int = 4
) -> list[list[bool]]:
    """The module grid of a code drawn over ``width`` x ``height`` pixels, quiet
    zone of ``border`` modules included, read at the centre of each module.

    The version is not known in advance: every size from 1 to 10 is tried and
    the first whose quiet zone is blank and whose finder patterns are where they
    belong wins.
    """
    for version in _BLOCKS_M:
        n = 17 + 4 * version + 2 * border
        grid = [
            [pixel((c + 0.5) * width / n, (r + 0.5) * height / n) < 128 for c in range(n)]
            for r in range(n)
        ]
        quiet = [row for row in grid[:border] + grid[-border:]] + [
            row[:border] + row[-border:] for row in grid
        ]
        if any(any(row) for row in quiet):
            continue
        inner = [row[border:-border] for row in grid[border:-border]]
        try:
            _check_finders(inner)
            _read_format(inner)
        except QRReadError:
            continue
        return inner
    raise QRReadError("no QR code of version 1-10 found in the image")
