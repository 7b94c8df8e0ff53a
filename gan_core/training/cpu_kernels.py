"""Faster CPU formulations of some DCGAN layers: the same parameters and the same maths, other kernels.

oneDNN runs the big stride-2 convolutions near this class of CPU's float32 peak, but not every layer or pass:
  * a conv whose kernel covers its whole input (D's last layer, 4x4 on 4x4) and a transposed conv on a 1x1 map
    (G's first layer) are matrix products in disguise; as convolutions they cost 10-40x their FLOPs;
  * a transposed conv to a 1-3 channel image (G's last layer) starves the conv kernels; one GEMM and col2im
    (`fold`) is faster;
  * the weight gradient of a stride-2 conv whose output map is at most 4x4 is faster as a *forward* dilated
    convolution over the batch-transposed tensors (see `_dilated_weight_grad`).
`accelerate(model)` swaps each eligible module's class for a subclass that only overrides `forward`: the
state_dict, the checkpoints and eval-mode behaviour are unchanged. Which kernel runs is a fixed rule of the
layer's shape (nothing is timed at run time), so a resumed run takes the same kernels and stays bit-identical.
Each rule is kept because bench/ measured it faster on whole training steps (BENCHMARKS.md); the ones that
measured slower there (im2col for D's 1-channel input, these tricks for G's transposed convs) are not here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_CONV_BACKWARD = torch.ops.aten.convolution_backward
FEW_CHANNELS = 4        # a transposed conv to at most this many channels draws an image (G's last layer)
SMALL_GRAD_MAP = 16     # output positions (4x4) up to which a conv's weight gradient is taken as a forward conv


def _dilated_weight_grad(inp: torch.Tensor, grad_out: torch.Tensor, k: tuple[int, int],
                         stride: tuple[int, int], padding: tuple[int, int]) -> torch.Tensor:
    """dL/dW for y = conv2d(inp, W, stride, padding): (B, Ci, H, W) x (B, Co, Ho, Wo) -> (Co, Ci, kh, kw).

    dW[o, i, a, b] = sum_{n, y, x} g[n, o, y, x] * inp[n, i, s*y + a - p, s*x + b - p], which is a stride-1
    convolution of inp^T (Ci as the batch, B as channels) with g^T (Co, B, Ho, Wo) as the kernel, dilated by s.
    """
    cl = torch.channels_last
    it = inp.transpose(0, 1).contiguous(memory_format=cl)           # (Ci, B, H, W)
    gt = grad_out.transpose(0, 1).contiguous(memory_format=cl)      # (Co, B, Ho, Wo)
    dw = F.conv2d(it, gt, padding=padding, dilation=stride)         # (Ci, Co, >=kh, >=kw): odd sides add taps
    return dw[:, :, :k[0], :k[1]].transpose(0, 1)


class _StridedConv(torch.autograd.Function):
    """y = conv2d(x, W, b, stride, padding). Backward: oneDNN's, except dW of a small output map (<= 4x4),
    which oneDNN's backward-weights kernel runs well below its forward speed."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, bias is not None)
        return F.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, has_bias = ctx.conf
        grad_out = grad_out.contiguous(memory_format=torch.channels_last)
        want_x, want_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        small = grad_out.shape[-2] * grad_out.shape[-1] <= SMALL_GRAD_MAP
        gx, gw, _ = _CONV_BACKWARD(grad_out, x, weight, None, list(stride), list(padding), [1, 1], False, [0, 0],
                                   1, [want_x, want_w and not small, False])
        if want_w and small:
            gw = _dilated_weight_grad(x, grad_out, weight.shape[-2:], stride, padding)
        gb = grad_out.sum((0, 2, 3)) if has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None


class StridedConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _StridedConv.apply(x, self.weight, self.bias, self.stride, self.padding)


class DenseConvTranspose2d(nn.ConvTranspose2d):
    """A transposed conv (stride 1, padding 0) on a 1x1 map: (B, Ci) @ W (Ci, k*k*Co) -> (B, Co, k, k) NHWC."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if x.shape[-2:] != (1, 1) or output_size is not None:
            return super().forward(x, output_size)
        ci, co, kh, kw = self.weight.shape
        w = self.weight.permute(0, 2, 3, 1).reshape(ci, kh * kw * co)   # a view when W is channels_last
        y = x.reshape(x.shape[0], ci) @ w
        if self.bias is not None:
            y = y.view(-1, kh * kw, co) + self.bias
        return y.view(-1, kh, kw, co).permute(0, 3, 1, 2)


class DenseConv2d(nn.Conv2d):
    """A conv (stride 1, padding 0) whose kernel covers the whole map: flatten(x) @ flatten(W)^T -> (B, Co, 1, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != tuple(self.kernel_size):
            return super().forward(x)
        co = self.weight.shape[0]
        xm = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)               # views when x and W are NHWC
        wm = self.weight.permute(0, 2, 3, 1).reshape(co, -1)
        y = xm @ wm.t() if self.bias is None else torch.addmm(self.bias, xm, wm.t())
        return y.view(-1, co, 1, 1)


class FoldConvTranspose2d(nn.ConvTranspose2d):
    """A transposed conv to a few-channel image: x (B*H*W, Ci) @ W (Ci, Co*k*k), then col2im (`fold`)."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if output_size is not None:
            return super().forward(x, output_size)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        b, ci, h, w = x.shape
        cols = x.permute(0, 2, 3, 1).reshape(b, h * w, ci) @ self.weight.reshape(ci, -1)   # (B, L, Co*kh*kw)
        side = ((h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw)
        y = F.fold(cols.transpose(1, 2), side, (kh, kw), stride=(sh, sw), padding=(ph, pw))
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def _plain(m: nn.Module) -> bool:
    return m.dilation == (1, 1) and m.groups == 1 and m.padding_mode == "zeros"


def _faster_class(m: nn.Module) -> type | None:
    """The faster subclass for module `m`, or None. Exact types only: a subclass or a parametrised layer (spectral
    norm) keeps its own forward."""
    if type(m) is nn.Conv2d and _plain(m):
        if m.stride == (1, 1) and m.padding == (0, 0):
            return DenseConv2d                  # falls back to conv2d unless the kernel covers the input
        if m.stride == (2, 2):
            return StridedConv2d
    if type(m) is nn.ConvTranspose2d and _plain(m) and m.output_padding == (0, 0):
        if m.stride == (1, 1) and m.padding == (0, 0):
            return DenseConvTranspose2d         # falls back to conv_transpose2d unless the input is 1x1
        if m.out_channels <= FEW_CHANNELS:
            return FoldConvTranspose2d
    return None


def accelerate(model: nn.Module) -> int:
    """Give each eligible conv layer of `model` its faster CPU form in place; returns how many were swapped."""
    swapped = 0
    for m in model.modules():
        cls = _faster_class(m)
        if cls is not None:
            m.__class__ = cls
            swapped += 1
    return swapped


def plain(model: nn.Module) -> None:
    """Undo `accelerate`: every swapped layer gets PyTorch's own class back."""
    for m in model.modules():
        if type(m) in (StridedConv2d, DenseConv2d):
            m.__class__ = nn.Conv2d
        elif type(m) in (DenseConvTranspose2d, FoldConvTranspose2d):
            m.__class__ = nn.ConvTranspose2d
