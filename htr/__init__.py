"""htr: handwritten text recognition for words, lines and pages, on a plain CPU.

    import htr
    page = htr.read("note.png")
    print(page.text)
    for page in htr.read_many(["a.png", "b.png"]):   # lines of many images read together
        print(page.text)
"""
from htr.api import read, read_many
from htr.imageio import pages_of
from htr.page import Line, Page, Word

__all__ = ["read", "read_many", "pages_of", "Page", "Line", "Word"]
__version__ = "0.1.0"
