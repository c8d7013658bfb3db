"""Environment variables changed for a while, then put back as they were."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def patched(set_: Mapping[str, str] = {}, unset: Iterable[str] = ()) -> Iterator[None]:
    keys = [*set_, *unset]
    saved = {k: os.environ.get(k) for k in keys}
    for k in unset:
        os.environ.pop(k, None)
    os.environ.update(set_)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
