"""Real screenshots of fixtures/hello and of seeded changes of it, for the baseline
comparison's tests and bench/compare.py.

The changes are made by the app, not by editing pixels: a copy of hello gets one more Go
file, and `FYNECHECK_VARIANT` picks what it draws differently (one build serves all).
"""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

from pytest_fynecheck.checks import Found
from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.checks.app_window import show_x_window
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.displays import images
from pytest_fynecheck.displays.servers import Display
from pytest_fynecheck.displays.x11 import MappedWindow
from pytest_fynecheck.e2e.compare import load

HELLO = Path(__file__).resolve().parents[2] / "fixtures" / "hello"

# What each variant changes; "" is hello as it is.
VARIANTS = {
    "": "hello as it is",
    "shift": "the content 1 px to the right",
    "border": "a 1 px grey border round the window",
    "colour": "the text colour changed (white to light yellow)",
    "background": "the background colour changed by 8 levels of blue",
}
# A base with shapes the GL driver draws (hello's text is drawn by Fyne itself).
WIDGETS = "widgets"

_VARIANT_GO = """\
package main

import (
	"image/color"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// shifted lays its one object out 1 px to the right of where it would be.
type shifted struct{}

func (shifted) MinSize(objects []fyne.CanvasObject) fyne.Size {
	return objects[0].MinSize().AddWidthHeight(1, 0)
}

func (shifted) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	objects[0].Move(fyne.NewPos(1, 0))
	objects[0].Resize(size.SubtractWidthHeight(1, 0))
}

type tinted struct {
	fyne.Theme
	name fyne.ThemeColorName
	to   color.Color
}

func (t tinted) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == t.name {
		return t.to
	}
	return t.Theme.Color(n, v)
}

// defaultVariant: what runs when FYNECHECK_VARIANT is unset (a run of app.window, which
// passes no environment of its own, in a suite container).
const defaultVariant = "DEFAULT"

func fynecheckVariant(a fyne.App, w fyne.Window) {
	names, set := os.LookupEnv("FYNECHECK_VARIANT")
	if !set {
		names = defaultVariant
	}
	for _, name := range strings.Split(names, ",") {
		variant(a, w, name)
	}
}

func variant(a fyne.App, w fyne.Window, name string) {
	c := w.Content()
	switch name {
	case "widgets":
		// Shapes the GL driver rasterises (rounded corners, circles, lines), unlike
		// text, which Fyne rasterises itself: where renderers differ.
		circle := canvas.NewCircle(color.NRGBA{R: 200, G: 80, B: 40, A: 255})
		circle.StrokeColor = color.White
		circle.StrokeWidth = 2
		rounded := canvas.NewRectangle(color.NRGBA{R: 40, G: 120, B: 200, A: 255})
		rounded.CornerRadius = 9
		line := canvas.NewLine(color.NRGBA{R: 90, G: 200, B: 90, A: 255})
		line.StrokeWidth = 1.5
		progress := widget.NewProgressBar()
		progress.SetValue(0.4)
		shapes := container.NewGridWithColumns(3, circle, rounded, line)
		w.SetContent(container.NewBorder(c, container.NewVBox(widget.NewButton("Click", nil),
			progress), nil, nil, shapes))
		w.Resize(fyne.NewSize(320, 320))
	case "shift":
		w.SetContent(container.New(shifted{}, c))
	case "border":
		edge := canvas.NewRectangle(color.Transparent)
		edge.StrokeColor = color.NRGBA{R: 128, G: 128, B: 128, A: 255}
		edge.StrokeWidth = 1
		w.SetContent(container.NewStack(c, edge))
	case "colour":
		w.SetContent(container.NewThemeOverride(c, tinted{theme.DefaultTheme(),
			theme.ColorNameForeground, color.NRGBA{R: 255, G: 255, B: 200, A: 255}}))
	case "background":
		bg := theme.DefaultTheme().Color(theme.ColorNameBackground, a.Settings().ThemeVariant())
		r, g, b, _ := bg.RGBA()
		a.Settings().SetTheme(tinted{theme.DefaultTheme(), theme.ColorNameBackground,
			color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b>>8) ^ 8, A: 255}})
	}
}
"""


def variant_source(dest: Path, default: str = "") -> Path:
    """hello copied to `dest` with the variants; `default` runs when FYNECHECK_VARIANT is
    unset."""
    copy = dest
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(HELLO, copy, ignore=shutil.ignore_patterns(".pytest_cache"))
    main = copy / "main.go"
    source = main.read_text(encoding="utf-8")
    hook = "w.ShowAndRun()"
    assert source.count(hook) == 1, f"{main}: the variants hook onto one {hook!r}"
    main.write_text(source.replace(hook, f"fynecheckVariant(a, w)\n\t{hook}"), encoding="utf-8")
    (copy / "variant.go").write_text(_VARIANT_GO.replace("DEFAULT", default), encoding="utf-8")
    return copy


def variant_app(ctx: Context) -> Path:
    """hello's copy with the variants, built (cached) by the kit's one Go build."""
    copy = variant_source(ctx.scratch / "hello-variants")
    variants = Context(copy, ctx.scratch, ctx.cache, environ=ctx.environ, timeout=ctx.timeout)
    exe, _ = build_app(variants, "hello-variants")
    return exe


def shoot(
    ctx: Context, display: Display, exe: Path, variant: str = "", *, settle: float = 1.0,
    name: str = "shot", env: dict[str, str] | None = None,
) -> tuple[images.Image, images.Image]:
    """The app's first frame and its frame `settle` s later (both from `xwd -id` of its own
    window, as app.window takes them), on X `display`."""
    later: list[images.Image] = []

    def again(win: MappedWindow) -> str:
        time.sleep(settle)
        done = ctx.run(["xwd", "-id", win.id, "-silent"], env=display.env, timeout=15)
        assert done.ok, done.output
        later.append(images.read_xwd(done.raw))
        return ""

    found = show_x_window(
        ctx, display, [str(exe)], {**display.env, **(env or {}), "FYNECHECK_VARIANT": variant},
        inspect=again, shot_name=name,
    )
    assert isinstance(found, Found)
    first = images.read_png(Path(found.artifacts["screenshot"]).read_bytes())
    return first, later[0]


def jittered(path: Path, out: Path, levels: int, seed: int = 1) -> Path:
    """Synthetic anti-aliasing noise: each pixel on an edge (its 3x3 neighbourhood spans
    more than 64 levels) moved by up to `levels` per channel."""
    from PIL import Image, ImageFilter

    image = load(path, "screenshot")
    grey = image.convert("L")
    span = [hi - lo for hi, lo in zip(grey.filter(ImageFilter.MaxFilter(3)).tobytes(),
                                      grey.filter(ImageFilter.MinFilter(3)).tobytes(),
                                      strict=True)]
    rng = random.Random(seed)
    raw = image.tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    for i, s in enumerate(span):
        if s > 64:
            pixels[i] = tuple(max(0, min(255, c + rng.randint(-levels, levels)))
                              for c in pixels[i])
    noisy = Image.new("RGB", image.size)
    noisy.putdata(pixels)
    dest = out / f"jitter{levels}-{path.name}"
    noisy.save(dest)
    return dest
