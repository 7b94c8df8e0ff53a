"""DCGAN Studio's engine: configs, models, data, trainer, background jobs, checkpoints, latent maths, export, CLI.

It imports torch, torchvision, huggingface_hub, safetensors, numpy and Pillow only (never streamlit or plotly),
so it runs alone on a GPU machine.
"""
__version__ = "0.1.0"
