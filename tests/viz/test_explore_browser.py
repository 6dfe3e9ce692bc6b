"""The explorer and the trace page in a real browser: Playwright driving Debian's chromium.

Every number the explorer shows at every step is compared with a trace recorded here, in
Python, to the 4 significant digits it prints. Skipped where chromium or Playwright is not
installed (CI installs both: see .ci/run).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import gradgate as gg
from gradgate.trace import trace
from gradgate.viz.explore import PRESETS

CHROMIUM = os.environ.get("GRADGATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH, HEIGHT = 1280, 800

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A page at 1280×800 that records every request and every script error."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    p = context.new_page()
    p.requests, p.errors = [], []
    p.on("pageerror", lambda e: p.errors.append(str(e)))

    def route(r):
        p.requests.append(r.request.url)
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            r.abort()

    p.route("**/*", route)
    yield p
    context.close()


def recorded(name):
    """The exercise's pass recorded here: the graph and the trace, independently of the
    page's own data."""
    _, _, build = PRESETS[name]
    root, names, grad = build()
    with trace(names) as tr:
        root.backward(grad)
    return tr


def expected_steps(tr):
    """[(kind, {what: array})] for every step, from the trace and the graph's tensors."""
    g = tr.graph
    out = []
    for n in g.nodes:
        if n.kind != "gate":
            continue
        arrays = {f"in:{i.name}": i.tensor.numpy() for i in g.inputs_of(n)}
        arrays["out"] = n.tensor.numpy()
        out.append(("forward", arrays))
    for s in tr.steps:
        if s.kind == "leaf":
            out.append(("leaf", {"g": s.g}))
        elif s.kind == "sum":
            arrays = {f"part:{k}": p.gradient for k, p in enumerate(s.parts)}
            arrays["total"] = s.g
            out.append(("sum", arrays))
        else:
            node = g.node(s.node)
            inputs = g.inputs_of(node)
            arrays = {"g": s.g}
            wrt = [k for k, sent in enumerate(s.sent) if sent.gradient is not None]
            jacobians = gg.check.local_jacobian(
                node.tensor.node.gate, *[i.tensor.numpy() for i in inputs], wrt=wrt
            )
            for k, sent in enumerate(s.sent):
                if sent.gradient is None:
                    continue
                J = jacobians[k]
                arrays[f"returned:{sent.input}"] = sent.gradient
                arrays[f"J:{sent.input}"] = J
                arrays[f"JTg:{sent.input}"] = (J.T @ s.g.reshape(-1)).reshape(sent.gradient.shape)
                arrays[f"fd:{sent.input}"] = sent.gradient
                if s.gate == "MatVec" and k == 0:
                    arrays[f"outer:{sent.input}"] = (s.g, inputs[1].tensor.numpy(), sent.gradient)
            out.append(("backward", arrays))
    return out


def shown(p) -> dict[str, list[list[float]]]:
    """Every array the panel shows: data-what → its rows of numbers, as printed."""
    return p.eval_on_selector_all(
        "#panel [data-what]",
        """els => Object.fromEntries(
        els.map(e => [e.dataset.what, [...e.querySelectorAll('tr')].map(
            r => [...r.querySelectorAll('td')].map(c => c.textContent))]))""",
    )


def printed_equal(text_rows, expected, what):
    numbers = np.array([float(x) for row in text_rows for x in row if x != ""])
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    assert numbers.shape == expected.shape, what
    # 4 significant digits: within half a unit of the 4th digit (finite differences: 1e-6)
    tolerance = 5.001e-4 * np.abs(expected) + (1e-6 if what.startswith("fd:") else 1e-300)
    assert np.all(np.abs(numbers - expected) <= tolerance), (what, numbers, expected)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_number_at_every_step_is_the_traces(name, page, tmp_path):
    out = tmp_path / f"explore-{name}.html"
    gg.viz.explore  # noqa: B018 (the public name exists)
    from gradgate.viz.explore import preset

    preset(name).save(out)
    tr = recorded(name)
    expected = expected_steps(tr)
    page.goto(out.as_uri())
    assert page.text_content("#counter") == f"step 1 / {len(expected)} · forward"
    assert f"exercise {name}" in page.text_content("#text")
    kinds = []
    for k, (kind, arrays) in enumerate(expected):
        if k:
            page.keyboard.press("ArrowRight")
        assert page.get_attribute("#panel", "data-step") == str(k + 1)
        assert page.get_attribute("#panel", "data-kind") == kind
        kinds.append(kind)
        on_page = shown(page)
        for what, array in arrays.items():
            if what.startswith("outer:"):
                left, top, grid = array
                rows = on_page[what]
                printed_equal([rows[0][1:]], top, what)
                printed_equal([[r[0]] for r in rows[1:]], left, what)
                printed_equal([r[1:] for r in rows[1:]], grid, what)
                continue
            if what.startswith("J:") and np.asarray(array).size > 64:
                assert what not in on_page
                continue
            assert what in on_page, (k, what, sorted(on_page))
            printed_equal(on_page[what], array, what)
        shown_keys = {w for w in on_page if not w.startswith("J:")}
        assert shown_keys <= set(arrays), (k, shown_keys - set(arrays))
    # one backward step per recorded gate, in the engine's order
    assert kinds.count("backward") == len(tr.of_kind("backward"))
    assert page.is_disabled("#next")
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#panel", "data-step") == str(len(expected) - 1)
    page.keyboard.press("Home")
    assert page.get_attribute("#panel", "data-step") == "1"
    assert page.errors == []
    assert page.requests == [out.as_uri()]  # nothing but the file itself


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_fan_out_events_are_exactly_at_tensors_with_several_consumers(name, page, tmp_path):
    from gradgate.viz.explore import preset

    out = tmp_path / "e.html"
    preset(name).save(out)
    page.goto(out.as_uri())
    summed = set()
    while True:
        if page.get_attribute("#panel", "data-kind") == "sum":
            heading = page.text_content("#panel h2")
            summed.add(heading.split(":")[0].removeprefix("Σ fan-out at "))
        if page.is_disabled("#next"):
            break
        page.click("#next")
    g = recorded(name).graph
    several = {n.name for n in g.nodes if len(g.consumers_of(n)) > 1 and n.requires_grad}
    assert summed == several
    assert (name == "20.2") == bool(several)  # the lecture's fan-out example


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_fits_1280_by_800(name, page, tmp_path):
    from gradgate.viz.explore import preset

    out = tmp_path / f"{name}.html"
    preset(name).save(out)
    page.goto(out.as_uri())
    page.keyboard.press("End")
    page.click("#to-backward")
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    page.screenshot(path=str(tmp_path / f"explore-{name}.png"))
    fits = page.evaluate("""() => {
        const d = document.documentElement;
        const inside = r => r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5
                            && r.bottom <= innerHeight + 0.5;
        const graph = document.querySelector('#graph').getBoundingClientRect();
        const nodes = [...document.querySelectorAll('#graph g.node rect')]
            .map(n => n.getBoundingClientRect());
        const inGraph = r => r.left >= graph.left - 0.5 && r.right <= graph.right + 0.5
                             && r.top >= graph.top - 0.5 && r.bottom <= graph.bottom + 0.5;
        const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom
                                  && b.top < a.bottom;
        const controls = [...document.querySelectorAll('header, #controls, #controls > *')];
        return {
            page: d.scrollWidth <= innerWidth && d.scrollHeight <= innerHeight,
            controls: controls.every(c => inside(c.getBoundingClientRect())),
            nodes: nodes.length > 0 && nodes.every(inGraph),
            apart: nodes.every((a, i) => nodes.every((b, j) => i === j || !overlap(a, b))),
            panel: document.querySelector('#panel').scrollWidth
                   <= document.querySelector('#panel').clientWidth,
        };
    }""")
    assert fits == {"page": True, "controls": True, "nodes": True, "apart": True, "panel": True}


def test_zoom_and_pan_move_the_picture_and_fit_restores_it(page, tmp_path):
    from gradgate.viz.explore import preset

    out = tmp_path / "z.html"
    preset("20.4").save(out)
    page.goto(out.as_uri())
    box = page.get_attribute("#graph svg", "viewBox")
    page.mouse.move(300, 400)
    page.mouse.wheel(0, -300)
    zoomed = page.get_attribute("#graph svg", "viewBox")
    assert float(zoomed.split()[2]) < float(box.split()[2])
    page.mouse.down()
    page.mouse.move(360, 420)
    page.mouse.up()
    assert page.get_attribute("#graph svg", "viewBox").split()[:2] != zoomed.split()[:2]
    page.click("#fit")
    assert [float(v) for v in page.get_attribute("#graph svg", "viewBox").split()] == [
        float(v) for v in box.split()
    ]


def test_the_trace_page_is_not_cut_off_at_1400px(browser, tmp_path, two_layer):
    E, names = two_layer
    with trace(names) as tr:
        E.backward()
    out = tmp_path / "trace.html"
    tr.save_html(out)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    p = context.new_page()
    p.goto(out.as_uri())
    right = p.evaluate("document.querySelector('figure.graph svg').getBoundingClientRect().right")
    wraps = p.evaluate("""[...document.querySelectorAll('td.numbers, td.formula')].some(
        c => getComputedStyle(c).whiteSpace !== 'pre')""")
    p.screenshot(path=str(tmp_path / "trace.png"), full_page=True)
    context.close()
    assert right <= 1400 and not wraps
