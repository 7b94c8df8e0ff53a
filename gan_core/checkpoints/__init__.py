"""Checkpoint folders in Hugging Face Hub layout: save (atomic), load (folder, bundled name, Hub repo id@revision),
push, the model card, and foreign formats (the pytorch/examples `.pth` import). Nothing is ever unpickled."""
