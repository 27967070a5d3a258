"""Chunked Adler-32 of large buffers, reporting progress after each chunk."""
import zlib

CHUNK = 1 << 20


def checksum(data, chunk=CHUNK, progress=None):
    """Adler-32 of `data` (bytes-like), equal to zlib.adler32(data).

    The buffer is read through a memoryview, so no chunk is copied; `progress`, if given,
    is called with the number of bytes done after each chunk.
    """
    view = memoryview(data)
    value = 1
    done = 0
    for start in range(0, len(view) - chunk + 1, chunk):
        value = zlib.adler32(view[start:start + chunk], value)
        done = start + chunk
        if progress:
            progress(done)
    return value
