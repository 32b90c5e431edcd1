"""Contact sheets: many images, each with its label written under it, on one page to look at.

Checking data by eye is the only way to see that rendering, cropping and labels agree; a
sheet shows dozens of samples at once, packed in rows. Images taller than the row are scaled
down; smaller ones keep their size, so a sheet shows the pixels as they are, not a blow-up.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def contact_sheet(items: list[tuple[np.ndarray, str]], width: int = 1600, height: int = 64,
                  font_size: int = 16, gap: int = 12) -> np.ndarray:
    """A uint8 grayscale sheet of (image, label) pairs: images at most `height` px high, rows `width` px wide."""
    font = ImageFont.load_default(size=font_size)
    cells = []
    for image, label in items:
        h, w = image.shape
        scale = min(1.0, height / h)
        size = (max(1, min(round(w * scale), width - 2 * gap)), max(1, round(h * scale)))  # long lines squeezed
        img = Image.fromarray(image)
        if size != (w, h):
            img = img.resize(size, Image.Resampling.LANCZOS)
        cell_w = size[0]
        text_w = int(np.ceil(font.getlength(label)))
        cells.append((img, label, max(cell_w, min(text_w, width - 2 * gap))))
    row_h = height + font_size + 10
    rows, x = [[]], gap
    for cell in cells:
        if rows[-1] and x + cell[2] > width - gap:
            rows.append([])
            x = gap
        rows[-1].append(cell)
        x += cell[2] + gap
    sheet = Image.new("L", (width, gap + len(rows) * (row_h + gap)), 255)
    pen = ImageDraw.Draw(sheet)
    for r, row in enumerate(rows):
        x, y = gap, gap + r * (row_h + gap)
        for img, label, cell_w in row:
            top = y + (height - img.height) // 2
            sheet.paste(img, (x, top))
            pen.rectangle((x - 1, top - 1, x + img.width, top + img.height), outline=200)
            pen.text((x, y + height + 4), label, fill=0, font=font)
            x += cell_w + gap
    return np.asarray(sheet)
