"""htr: handwritten text recognition for words, lines and pages, on a plain CPU.

    import htr
    page = htr.read("note.png")
    print(page.text)
"""
from htr.api import read
from htr.page import Line, Page, Word

__all__ = ["read", "Page", "Line", "Word"]
__version__ = "0.1.0"
