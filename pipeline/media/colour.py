"""Pixels a browser shows as the author saw them: 8-bit RGB or RGBA, in sRGB or tagged with their RGB
profile.

Print and scanner files arrive as CMYK JPEG/TIFF (often with the press profile they were separated with),
LAB TIFF, 16-bit grey PNG, grey images carrying a grey ICC profile, palettes with a transparent index.
Pillow's plain ``convert`` handles the last ones; colour that depends on a profile goes through LittleCMS
(``PIL.ImageCms``, shipped inside Pillow's wheel), which is what Photoshop's "Convert to Profile" does.
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


def to_web(img: Image.Image, name: str) -> tuple[Image.Image, bytes | None, list[str]]:
    """``img`` as RGB/RGBA, the ICC profile to embed with it (an RGB one only) and warnings for its author."""
    icc = img.info.get("icc_profile") or None
    profile = _profile(icc)
    space = profile.profile.xcolor_space.strip() if profile is not None else None
    warnings: list[str] = []
    if img.mode == "CMYK":
        if profile is not None and space == "CMYK":
            return _to_srgb(img, profile), None, warnings
        warnings.append(
            f"{name} is a CMYK (print) image without a colour profile: it was converted to screen colours "
            "with a generic formula, so colours may look off. Export it as sRGB (or embed its CMYK profile) "
            "for exact colours."
        )
        return img.convert("RGB"), None, warnings
    if img.mode == "LAB":
        return _to_srgb(img, ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))), None, warnings
    out = _web_mode(img)
    # A grey (or CMYK) profile on an RGB picture is invalid; an RGB one keeps wide-gamut colour exact.
    return out, icc if space == "RGB" else None, warnings


def _profile(icc: bytes | None) -> ImageCms.ImageCmsProfile | None:
    if not icc:
        return None
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # a corrupt profile: the pixels are still the picture


def _to_srgb(img: Image.Image, source: ImageCms.ImageCmsProfile) -> Image.Image:
    """Relative colorimetric with black point compensation: Photoshop's default for CMYK to RGB."""
    converted = ImageCms.profileToProfile(
        img,
        source,
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )
    assert converted is not None  # inPlace=False always returns the new image
    return converted


def _web_mode(img: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency: WebP keeps alpha, and palette/16-bit modes would
    otherwise be converted by the encoder in ways that lose colour or transparency."""
    has_alpha = img.mode in _ALPHA_MODES or "transparency" in img.info
    if img.mode.startswith("I;16") or img.mode == "I":
        # 16-bit grey: scale to 8 bits first, a plain convert would clip everything above 255 to white.
        # (I;16B, big-endian from TIFF, has no point(): through 32-bit I first.)
        img = (img if img.mode == "I" else img.convert("I")).point(lambda v: v / 256).convert("L")
    target = "RGBA" if has_alpha else "RGB"
    return img if img.mode == target else img.convert(target)
