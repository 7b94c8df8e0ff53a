"""Data: the dataset sources (built-in digits, torchvision sets, folder, zip) decoded once into one uint8 tensor,
safe image decoding with limits, and `BatchSource`, which draws batches by index on the training device."""
