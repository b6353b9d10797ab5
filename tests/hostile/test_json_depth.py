"""The nesting check on JSON bytes (nemkonto.json_depth) against the depth Python's own parser
sees, for documents full of brackets, quotes and backslashes inside strings, read in chunks as
small as one byte (so every escape and string is split somewhere)."""

import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nemkonto.json_depth import json_nesting_exceeds

LIMIT = 8
TRICKY_TEXT = st.text(alphabet='[]{}"\\ax', max_size=6)
TREES = st.recursive(
    st.none() | st.integers() | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3)
    ),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(tree=TREES, chunk=st.sampled_from([1, 2, 3, 7, 256 * 1024]))
def test_deeper_than_the_limit_is_found_and_half_of_it_passes(tree, chunk):
    document = json.dumps(tree).encode()

    found = json_nesting_exceeds(io.BytesIO(document), LIMIT, chunk_size=chunk)

    if depth(tree) > LIMIT:
        assert found
    if depth(tree) <= LIMIT // 2:
        assert not found


def test_a_megabyte_of_brackets_is_refused_at_once():
    document = b'{"payments": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"

    assert json_nesting_exceeds(io.BytesIO(document), 32)


def test_brackets_in_strings_do_not_count():
    document = json.dumps({"text": '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\" [[[['}).encode()

    assert not json_nesting_exceeds(io.BytesIO(document), 2)
