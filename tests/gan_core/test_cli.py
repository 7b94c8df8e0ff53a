"""The CLI end to end in subprocesses: train -> checkpoint -> sample/interpolate; one-line errors."""
import subprocess
import sys
import zipfile

from PIL import Image
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
TINY = ["--image-size", "16", "--z-dim", "8", "--g-width", "4", "--d-width", "4", "--batch-size", "16",
        "--device", "cpu"]


def cli(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "gan_core", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_train_sample_interpolate(tmp_path):
    out = tmp_path / "run"
    # The pre-issue-12 settings (lr 2e-4, EMA off, the paper's G): with the new defaults 8 steps leave G drawing
    # near-identical frames for nearby z, which Pillow merges in the GIF below.
    r = cli("train", "--dataset", "digits", "--max-steps", "8", *TINY, "--ema-decay", "0", "--lr-g", "2e-4", "--lr-d",
            "2e-4", "--g-refine", "0", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("device=CPU") and "preset=dcgan" in lines[0] and "batch=16" in lines[0]
    assert lines[-2] == f"saved {out.resolve()}"
    rate = float(lines[-1].removeprefix("images_per_s="))
    assert rate > 0
    assert "python -m gan_core train --dataset digits" in (out / "README.md").read_text()

    r = cli("sample", "--checkpoint", out, "--seeds", "1,2,3", "--out", tmp_path / "a.png")
    assert r.returncode == 0, r.stderr
    r = cli("sample", "--checkpoint", out, "--seeds", "1,2,3", "--out", tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert Image.open(tmp_path / "a.png").size == (3 * 18 + 2, 18 + 2)      # make_grid with 2 px padding

    r = cli("sample", "--checkpoint", out, "--n", "4", "--seed", "10", "--out", tmp_path / "s.zip")
    names = zipfile.ZipFile(tmp_path / "s.zip").namelist()
    assert names == [f"seed_{s:06d}.png" for s in range(10, 14)]

    r = cli("interpolate", "--checkpoint", out, "--seeds", "1,2,3", "--steps", "5", "--mode", "lerp",
            "--out", tmp_path / "i.gif")
    assert r.returncode == 0, r.stderr
    gif = Image.open(tmp_path / "i.gif")
    assert gif.n_frames == 9                                          # 2 segments x (5 - 1) + 1


def test_threads_flag_sets_the_training_threads_and_shows_them(tmp_path):
    r = cli("train", "--max-steps", "2", *TINY, "--threads", "1", "--out", tmp_path / "t1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("device=CPU (1 thread)")
    assert "fast_cpu_layers=" in r.stdout.splitlines()[0]
    r = cli("train", "--max-steps", "2", *TINY, "--threads", "0", "--out", tmp_path / "t0", "--quiet")
    assert r.returncode == 2 and "--threads must be between 1 and 1024" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "t0").exists()


def test_preset_defaults_reach_training(tmp_path):
    r = cli("train", "--preset", "improved", "--max-steps", "2", *TINY, "--out", tmp_path / "imp", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "lr_g=0.0004 lr_d=0.0002" in r.stdout


def test_errors_are_one_line_no_traceback(tmp_path):
    for args, words in [
        (("train", "--z-dim", "1", "--out", tmp_path / "x"), "z_dim must be in [2, 1024]"),
        (("train", "--dataset", tmp_path / "nothing-here", "--out", tmp_path / "x"), "unknown dataset"),
        (("sample", "--checkpoint", tmp_path, "--out", tmp_path / "x.png"), "no config.json"),
        (("sample", "--checkpoint", "./missing", "--out", tmp_path / "x.png"), "no checkpoint"),
    ]:
        r = cli(*args)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
        assert r.stderr.startswith("error: ") and words in r.stderr
