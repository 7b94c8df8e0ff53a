"""Evaluation: FID / KID / IS through torchmetrics (Inception features), the offline digits score and its small
classifier, and `evaluate()`, which the CLI and the Evaluate page both call."""
