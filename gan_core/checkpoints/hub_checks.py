"""Two Hub facts, torch-free: whether the user asked for no network (`offline`) and whether a string is a Hub
model repo id (`is_repo_id`), both answered by huggingface_hub itself so they agree with what it will do."""
from __future__ import annotations

import os


def offline() -> bool:
    """True when the user asked for no network: huggingface_hub's own flag (HF_HUB_OFFLINE, which it reads when
    imported) or DCGAN_STUDIO_OFFLINE=1. The one offline check: the Hub, Inception downloads, Publish."""
    from huggingface_hub import constants

    flag = os.environ.get("DCGAN_STUDIO_OFFLINE", "").strip().upper()
    return bool(constants.HF_HUB_OFFLINE) or flag in constants.ENV_VARS_TRUE_VALUES


def is_repo_id(text: str) -> bool:
    """USER/NAME as the Hub accepts it (huggingface_hub's validate_repo_id), the namespace required: a bare
    name here is a folder or a bundled checkpoint, never a Hub model."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if text.count("/") != 1:
        return False
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True
