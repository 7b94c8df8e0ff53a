"""Real-browser journey through Explore's Hub browser: `streamlit run app.py` with HF_ENDPOINT pointing at the
local test Hub (tests/hub_server.py, in this process, with a HugGAN DCGAN that has a sample image and a
pytorch/examples repo), driven by Debian's Chromium: open the Hub source, search, see the results with their
likes/downloads and sample image, click Load, and see "Detected: HugGAN DCGAN, 64×64×3, z 16" with a seed grid.
Screenshots go to tests/artifacts/hub_browser*.png."""
from __future__ import annotations

import os

import pytest

from tests.browser.test_browser import (UI_TIMEOUT_MS, browser, open_page,  # noqa: F401 (fixture)
                                        screenshot, streamlit_server, wait_idle)
from tests.hub_repos import ExamplesNetG, HugGANGenerator, examples_files, huggan_files, trained_looking
from tests.hub_server import HubServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hub_app(tmp_path_factory):
    """The test Hub in a thread, and the app started with HF_ENDPOINT (read by huggingface_hub at import)."""
    from gan_core.checkpoints.formats import generator_from_state
    from gan_core.export import grid_png
    from gan_core.sampling import images_from_seeds

    home = tmp_path_factory.mktemp("hub_browser_home")
    with HubServer() as hub:
        net = trained_looking(HugGANGenerator(3, 16, 4), seed=1)
        png = grid_png(images_from_seeds(generator_from_state(net.state_dict(), where="t")[0], range(4)), nrow=2)
        hub.add("huggan/faces-dcgan", {**huggan_files(net), "samples.png": png}, tags=["huggan", "gan"],
                likes=12, downloads=340, last_modified="2025-06-02T10:00:00.000Z")
        hub.add("someone/mnist-examples", examples_files({3: ExamplesNetG(8, 4, 1)}), tags=["dcgan"], downloads=9)
        env = {**os.environ, "DCGAN_STUDIO_HOME": str(home / "studio"), "HF_HOME": str(home / "hf"),
               "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "PYTHONUNBUFFERED": "1"}
        env.pop("HF_HUB_CACHE", None)
        with streamlit_server(env) as url:
            yield url, hub


def test_search_and_load_a_huggan_repo_in_a_real_browser(hub_app, browser):  # noqa: F811
    url, hub = hub_app
    context = browser.new_context(viewport={"width": 1300, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        open_page(page, url, "explore")
        page.get_by_text("Generator:").first.click()
        page.get_by_text("Hugging Face Hub", exact=True).first.click()
        page.get_by_role("button", name="Search").click()
        page.get_by_text("huggan/faces-dcgan").first.wait_for()
        page.get_by_text("♥ 12 · ⬇ 340 · updated 2025-06-02").first.wait_for()
        page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                               ".some(i => i.complete && i.naturalWidth > 0)")     # the repo's samples.png
        assert hub.fetched("samples.png")
        screenshot(page, "hub_browser_search")
        page.get_by_role("button", name="Load", exact=True).first.click()
        page.locator("strong", has_text="HugGAN DCGAN, 64×64×3, z 16").first.wait_for()
        wait_idle(page)
        page.get_by_text("seed 15").first.wait_for()
        assert page.get_by_text("Generator: huggan/faces-dcgan").first.is_visible()
        assert hub.fetched("model.safetensors") and not page.locator('[data-testid="stException"]').count()
        screenshot(page, "hub_browser_loaded")
    finally:
        context.close()
