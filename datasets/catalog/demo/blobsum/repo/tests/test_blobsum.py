import zlib

from blobsum import CHUNK, checksum


def test_small_exact_multiple():
    data = bytes(range(256)) * 16
    assert checksum(data, chunk=256) == zlib.adler32(data)


def test_small_partial_chunk():
    data = b"hello world" * 7
    assert checksum(data, chunk=16) == zlib.adler32(data)


def test_large_buffer():
    # 300 MB in one allocation, viewed at a length that is not a multiple of the chunk size:
    # the memory burst the benchmark measures
    data = bytearray(bytes(range(256)) * (CHUNK // 256)) * 300
    view = memoryview(data)[: len(data) - 77]
    seen = []
    assert checksum(view, progress=seen.append) == zlib.adler32(view)
    assert seen[-1] == len(view)
