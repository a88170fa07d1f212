"""The study report in a real headless Chromium: it loads from disk with no console errors, every embedded image
decodes, and the page is not blank. Chromium is Debian's, installed by ``make test``."""

from __future__ import annotations

import io
import shutil
import textwrap

import numpy as np
import pytest
from PIL import Image

from wganlab.study.report import build_report
from wganlab.study.runner import run_study
from wganlab.study.spec import load_study

STUDY = """
    name: browser-check
    description: two variants on a toy and on digits, one seed each
    set: {steps: 12, model.width: 8, batch_size: 16, log_every: 4, sample_every: 12, checkpoint_every: 4,
          eval_every: 4, eval_samples: 64}
    axes:
      variant: [gan, {name: GAN-B, preset: dcgan}]
      data: [8gaussians, mnist]
      seed: [0]
    evaluation: {samples: 200}
"""
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed ('make test' installs it: apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-study")
    (root / "study.yaml").write_text(textwrap.dedent(STUDY), encoding="utf-8")
    outcome = run_study(load_study(root / "study.yaml"), root / "out", workers=2, log=io.StringIO())
    assert outcome["failed"] == {}
    return build_report(root / "out")


def test_report_is_self_contained(report):
    page = report.read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for section in ("Which is better, and how sure", "Samples side by side", "Every pair", "Summary", "over training",
                    "Losses and Wasserstein estimate", "Samples", "Class coverage", "Time", "Training health",
                    "Exact configurations", "Package versions"):
        assert section in page, section
    assert "data:image/gif;base64," in page  # the training GIF
    assert "FID (in training, 64 samples) over training" in page  # the study's eval_samples, not a fixed count


def test_report_renders_in_headless_chromium(report, tmp_path):
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(report.as_uri(), wait_until="load")
        decoded = page.evaluate("""async () => Promise.all(Array.from(document.images).map(async (img) => {
            try { await img.decode(); return img.naturalWidth > 0 && img.naturalHeight > 0; }
            catch (e) { return false; } }))""")
        verdicts = page.locator("li.verdict").all_inner_texts()
        side = page.evaluate("""() => Array.from(document.querySelectorAll('figure.side')).map(f => {
            const img = f.querySelector('img'); const box = img.getBoundingClientRect();
            return [f.innerText, img.complete && img.naturalWidth > 0, box.width > 100 && box.height > 100]; })""")
        order = page.evaluate("""() => ['Which is better', 'Samples side by side', 'Summary'].map(t =>
            Array.from(document.querySelectorAll('h2')).findIndex(h => h.innerText.startsWith(t)))""")
        screenshot = page.screenshot(full_page=True)
        browser.close()
    assert problems == []
    # the answer first: a sentence per dataset and primary metric, before the samples and the tables
    assert any(v.startswith("8gaussians: ") and "modes" in v for v in verdicts), verdicts
    assert any(v.startswith("mnist: ") and "FID" in v for v in verdicts), verdicts
    assert all("with 1 seed per variant no pair is decided" in v for v in verdicts), verdicts
    assert order == sorted(order) and order[0] >= 0, order
    # every variant's samples, side by side, shown at a readable size
    names = sorted(text.split(" ")[0] for text, _, _ in side)
    assert names == ["GAN-B", "GAN-B", "gan", "gan"], side  # two variants on each of the two datasets
    assert all(ok and big for _, ok, big in side), side
    assert len(decoded) >= 10 and all(decoded), decoded
    pixels = np.asarray(Image.open(io.BytesIO(screenshot)).convert("L"), dtype=np.float64)
    assert pixels.shape[0] > 2000  # the whole page, not one screen
    assert pixels.std() > 20 and (pixels < 128).mean() > 0.01  # not blank: text, plots and samples on it


VECTORS = """
    name: vectors-check
    description: the critic against the exact W1 on a toy, and generated rows as augmentation on a table
    set: {steps: 12, model.width: 8, batch_size: 16, log_every: 4, sample_every: 12, checkpoint_every: 4,
          eval_every: 4, eval_samples: 64}
    axes:
      variant: [wgan-gp, wgan-sn]
      data: [8gaussians, {label: wine, name: table, root: "sklearn:wine"}]
      seed: [0, 1]
    when:
      - match: {data: 8gaussians}
        set: {eval.wasserstein: true, eval.batch: 32}
      - match: {data: wine}
        set: {conditioning.mode: channels, eval.augment: 1}
    evaluation: {samples: 200}
"""


def test_augmentation_and_the_critic_against_w1_in_the_report_in_chromium(tmp_path):
    pytest.importorskip("sklearn")
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    (tmp_path / "study.yaml").write_text(textwrap.dedent(VECTORS), encoding="utf-8")
    outcome = run_study(load_study(tmp_path / "study.yaml"), tmp_path / "out", workers=2, log=io.StringIO())
    assert outcome["failed"] == {}
    report = build_report(tmp_path / "out")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri(), wait_until="load")
        headers = page.locator("th").all_inner_texts()
        titles = page.locator("h2").all_inner_texts()
        broken = page.evaluate("""async () => (await Promise.all(Array.from(document.images).map(async (img) => {
            try { await img.decode(); return img.naturalWidth > 0; } catch (e) { return false; } })))
            .filter(ok => !ok).length""")
        browser.close()
    for header in ("accuracy, real rows only", "accuracy, generated only (GAN-train)", "GAN-test accuracy",
                   "accuracy, real + 1x generated", "correlation of critic estimate and batch W1"):
        assert any(h.startswith(header) for h in headers), (header, headers)
    assert any(t.startswith("exact batch W1, real vs generated") for t in titles), titles
    assert any(t.startswith("critic's estimate") for t in titles), titles
    assert "Critic against the exact batch W1" in titles  # both curves of each variant on one set of axes
    assert "Augmentation: held-out accuracy against generated rows per real row" in titles
    assert broken == 0
