"""AppTest of Explore's Hub browser against the local test Hub (tests/hub_server.py, real huggingface_hub client):
search lists id, likes, downloads, last modified and the sample image; "Load" switches to a HugGAN repo and the
page says what it detected; a pytorch/examples repo named with `:file` loads; bad repos are one st.error and the
current generator stays; offline search is one message while a bundled/local source still works."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.hub_repos import ExamplesNetG, HugGANGenerator, examples_files, huggan_files, point_client_at, \
    trained_looking
from tests.hub_server import HubServer
from tests.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "explore.py")
HUB = "Hugging Face Hub"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from gan_core.export import grid_png
    from gan_core.checkpoints.formats import generator_from_state
    from gan_core.sampling import images_from_seeds

    from ui.explore.hub import _image, _search

    _search.clear()                   # process-wide caches: results of another test's server must not show
    _image.clear()
    with HubServer() as server:
        point_client_at(monkeypatch, server.url, tmp_path / "hf-cache")
        net = trained_looking(HugGANGenerator(3, 16, 4))
        png = grid_png(images_from_seeds(generator_from_state(net.state_dict(), where="t")[0], range(4)), nrow=2)
        server.add("huggan/faces-dcgan", {**huggan_files(net), "samples.png": png}, tags=["huggan", "gan"],
                   likes=12, downloads=340, last_modified="2025-06-02T10:00:00.000Z")
        server.add("someone/mnist-examples", examples_files({3: ExamplesNetG(8, 4, 1), 7: ExamplesNetG(8, 4, 1)}),
                   tags=["dcgan"], likes=2, downloads=50)
        server.add("someone/gpt", {"config.json": b'{"model_type": "gpt2"}'}, tags=["text-generation"])
        yield server


@pytest.fixture
def page(tiny_checkpoint):
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["explore_source"] = str(tiny_checkpoint)
    at.session_state["explore_seeds"] = "0-3"
    at.session_state["explore_steps"] = 4
    at.run()
    at.radio(key="explore_kind").set_value(HUB).run()
    return at


def test_search_then_load_a_huggan_repo(hub, page):
    page.button(key="FormSubmitter:explore_hub_search-Search").click().run()
    assert not page.exception
    text = " ".join(m.value for m in page.markdown)
    assert "**huggan/faces-dcgan**" in text and "♥ 12 · ⬇ 340 · updated 2025-06-02" in text
    assert "someone/mnist-examples" in text and "someone/gpt" not in text
    assert len(page.get("imgs")) + len(page.get("image")) >= 1            # faces-dcgan's samples.png
    assert hub.fetched("samples.png")
    page.button(key="explore_hub_load_huggan/faces-dcgan").click().run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert page.session_state["explore_source"] == "huggan/faces-dcgan"
    assert any("Detected: **HugGAN DCGAN, 64×64×3, z 16**" in c.value for c in page.caption)
    assert {m.label: m.value for m in page.metric}["z-dim"] == "16"
    assert any("Loaded huggan/faces-dcgan" in s.value for s in page.success)
    assert any("publishing is for checkpoints trained here" in c.value for c in page.caption)
    assert not [b for b in page.button if b.key == "explore_publish"]


def test_named_file_and_bad_repos(hub, page, tiny_checkpoint):
    page.text_input(key="explore_repo").input("someone/mnist-examples:netG_epoch_3.pth").run()
    page.button(key="explore_load_hub").click().run()
    assert page.session_state["explore_source"] == "someone/mnist-examples:netG_epoch_3.pth"
    assert any("pytorch/examples netG (netG_epoch_3.pth), 64×64×1, z 8" in c.value for c in page.caption)
    for repo, words in [("someone/gpt", "transformers model"), ("nobody/none", "no Hub model repo"),
                        ("huggan/faces-dcgan@v9", "has no revision 'v9'")]:
        name, _, rev = repo.partition("@")
        page.text_input(key="explore_repo").input(name)
        page.text_input(key="explore_rev").input(rev).run()
        page.button(key="explore_load_hub").click().run()
        assert not page.exception
        assert any(words in e.value for e in page.error), (repo, [e.value for e in page.error])
        assert page.session_state["explore_source"] == "someone/mnist-examples:netG_epoch_3.pth"


def test_offline_search_is_one_message_and_local_sources_work(hub, page, monkeypatch, tiny_checkpoint):
    import huggingface_hub.constants as hf

    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    page.button(key="FormSubmitter:explore_hub_search-Search").click().run()
    assert not page.exception
    assert [w.value for w in page.warning] and "HF_HUB_OFFLINE" in page.warning[0].value
    assert {m.label: m.value for m in page.metric}["z-dim"] == "8"     # the tiny checkpoint still shows
    assert hub.requests == []
