"""Per-chunk CRC-32 digests of large in-memory buffers."""
import zlib

CHUNK = 1 << 20


def chunk_digests(data, size=CHUNK):
    """The CRC-32 of each `size`-byte chunk of `data`, each chunk on its own."""
    if size <= 0:
        raise ValueError("size must be positive")
    view = memoryview(data)
    digests = []
    crc = 0
    for start in range(0, len(view), size):
        crc = zlib.crc32(view[start:start + size], crc)
        digests.append(crc)
    return digests


def first_difference(a, b, size=CHUNK):
    """Index of the first chunk where two buffers differ, or None."""
    for i, (x, y) in enumerate(zip(chunk_digests(a, size), chunk_digests(b, size))):
        if x != y:
            return i
    if len(a) != len(b):
        return min(len(a), len(b)) // size
    return None
