"""How deeply a JSON document nests, checked on its bytes before a streaming parser sees it.

ijson (the batch intake's parser) builds a path string for every event, so its time and memory
grow with the square of the nesting depth: 200 KB of ``[[[[...`` take minutes and gigabytes.
This check reads the bytes with C-speed bytes operations only (about 10 ms per MB of a batch,
a fifth of what ijson takes to parse it):

1. escaped backslashes and escaped quotes are dropped (a backslash at the end of a chunk waits
   for the next one, so an escape is never split);
2. only quotes and brackets are kept (``{}`` as ``[]``); adjacent quotes are dropped in pairs
   (an empty string, or two strings with no bracket between them: neither changes what lies
   outside the strings), and what is left between the remaining quotes is string content;
3. the brackets outside strings, after the ones still open from earlier chunks, are reduced by
   removing ``[]`` pairs, one nesting level per pass.

The passes plus the brackets open before the chunk bound the depth reached in the chunk from
above, and are never more than twice it: a document nested deeper than ``limit`` is always
found, and one nested at most ``limit // 2`` deep always passes.
"""

from typing import IO

_CHUNK = 256 * 1024
_MARKS = b'"[]{}'
_NOT_MARKS = bytes(byte for byte in range(256) if byte not in _MARKS)
_OBJECTS_AS_ARRAYS = bytes.maketrans(b"{}", b"[]")


def json_nesting_exceeds(stream: IO[bytes], limit: int, *, chunk_size: int = _CHUNK) -> bool:
    """Whether the JSON document in ``stream`` (read to its end) nests deeper than ``limit``."""
    still_open = b""
    in_string = False
    carry = b""
    while chunk := stream.read(chunk_size):
        chunk, carry = carry + chunk, b""
        if b"\\" in chunk:
            if (len(chunk) - len(chunk.rstrip(b"\\"))) % 2:
                chunk, carry = chunk[:-1], chunk[-1:]
            chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
        marks = chunk.translate(_OBJECTS_AS_ARRAYS, _NOT_MARKS)
        if in_string:
            marks = b'"' + marks
        pieces = marks.replace(b'""', b"").split(b'"')
        in_string = len(pieces) % 2 == 0
        brackets = still_open + b"".join(pieces[0::2])
        for _pass in range(limit + 1 - len(still_open)):
            reduced = brackets.replace(b"[]", b"")
            if reduced == brackets:
                break
            brackets = reduced
        else:
            return True
        still_open = brackets.lstrip(b"]")
    return False
