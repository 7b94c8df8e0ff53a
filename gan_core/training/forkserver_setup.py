"""Imported first by the forkserver that training processes fork from (gan_core/training/worker.py), and only there:
it stops multiprocessing from re-running the server's main script in every training process.

multiprocessing's rule for spawned and forkserver children is to import the parent's `__main__` again. In the
Streamlit server that is the page script Streamlit swapped in as `__main__` for its rerun (app.py): a child would
run the whole app (and the engine's warm-up) before training. A training process needs nothing from it, since its
target and messages live in gan_core, so the forkserver (whose only children are training processes) skips it.
"""
import sys
from multiprocessing import spawn

if sys.argv == ["-c"]:   # the forkserver runs as `python -c "from multiprocessing.forkserver import main; ..."`
    def _skip_main(_name_or_path: str) -> None:
        return None

    spawn._fixup_main_from_path = _skip_main
    spawn._fixup_main_from_name = _skip_main
