"""The alphabet a model reads: CTC class 0 is the blank, class i is chars[i-1]."""
from __future__ import annotations

import string

# Printable ASCII is what IAM, IAM-OnDB and most Latin-script notes use.
DEFAULT_CHARS = " " + string.ascii_letters + string.digits + "!\"#%&'()*+,-./:;?[]"


class UnknownCharacterError(ValueError):
    """A label holds a character the model cannot write."""


class Charset:
    def __init__(self, chars: str = DEFAULT_CHARS):
        if len(set(chars)) != len(chars):
            raise ValueError("charset has repeated characters")
        self.chars = chars
        self._index = {c: i + 1 for i, c in enumerate(chars)}

    def __len__(self) -> int:
        """Number of CTC classes, blank included."""
        return len(self.chars) + 1

    def __contains__(self, text: str) -> bool:
        return all(c in self._index for c in text)

    def unknown(self, text: str) -> set[str]:
        return {c for c in text if c not in self._index}

    def encode(self, text: str) -> list[int]:
        bad = self.unknown(text)
        if bad:
            raise UnknownCharacterError(
                f"characters {''.join(sorted(bad))!r} are not in the charset (text: {text!r})")
        return [self._index[c] for c in text]

    def decode(self, labels) -> str:
        return "".join(self.chars[i - 1] for i in labels if 0 < i <= len(self.chars))
