import time
import zlib

from chunkdigest import CHUNK, chunk_digests, first_difference

# The large-input fixture: 540 MiB of recorded frames, held while the checks run. With the
# interpreter this is about 600 MB above the agent's own memory for a few seconds, the burst
# the benchmark's per-tool-call control is measured on.
LARGE_MIB = 540
HOLD_S = 3.0


def test_each_chunk_on_its_own():
    assert chunk_digests(b"abcd", 2) == [zlib.crc32(b"ab"), zlib.crc32(b"cd")]


def test_partial_last_chunk():
    data = b"hello world" * 7
    assert chunk_digests(data, 16)[-1] == zlib.crc32(data[64:])


def test_first_difference():
    a = bytes(64)
    b = bytes(40) + b"x" + bytes(23)
    assert first_difference(a, b, 16) == 2
    assert first_difference(a, a, 16) is None


def test_large_input():
    frame = bytes(range(256)) * (CHUNK // 256)
    data = bytearray(frame) * LARGE_MIB
    time.sleep(HOLD_S)
    digests = chunk_digests(data)
    assert len(digests) == LARGE_MIB
    assert digests[-1] == zlib.crc32(frame)
    assert first_difference(data, data) is None
