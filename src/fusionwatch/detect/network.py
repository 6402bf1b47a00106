"""The landmark network (torch; imported only by training code).

A small encoder-decoder ("UNet-lite") trained from scratch, with integral (soft-argmax) coordinate regression: each
landmark channel's logits become a probability map by a spatial softmax, and the point is the expectation of the pixel
positions under that map. A global-pooling head on the bottleneck gives class logits (view / facing / not-a-spine).

The exported ONNX graph takes ``image`` (N, 1, H, W) float32 (see :func:`fusionwatch.detect._geometry.normalise`)
and returns ``coords`` (N, K, 2) in input pixels (x, y; origin at the centre of the top-left input pixel), ``spread``
(N, K) the standard deviation of each probability map in input pixels, and ``logits`` (N, C).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["LandmarkNet", "soft_argmax"]


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def soft_argmax(logits: torch.Tensor, stride: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Expected position and spread of each channel's spatial softmax.

    Parameters
    ----------
    logits : (N, K, h, w) tensor
    stride : int
        Input pixels per output cell; cell ``(i, j)`` is centred at input pixel ``((j + 0.5) * stride - 0.5, ...)``.

    Returns
    -------
    coords : (N, K, 2) tensor, input pixels (x, y)
    spread : (N, K) tensor, input pixels (root mean squared distance from ``coords``)
    prob : (N, K, h, w) tensor
    """
    n, k, h, w = logits.shape
    prob = F.softmax(logits.reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)
    xs = (torch.arange(w, dtype=logits.dtype, device=logits.device) + 0.5) * stride - 0.5
    ys = (torch.arange(h, dtype=logits.dtype, device=logits.device) + 0.5) * stride - 0.5
    px = prob.sum(dim=2)  # (N, K, w)
    py = prob.sum(dim=3)  # (N, K, h)
    x = (px * xs).sum(-1)
    y = (py * ys).sum(-1)
    var = (px * xs**2).sum(-1) - x**2 + (py * ys**2).sum(-1) - y**2
    spread = torch.sqrt(torch.clamp(var, min=1e-6))
    return torch.stack([x, y], dim=-1), spread, prob


class LandmarkNet(nn.Module):
    """Encoder-decoder with output stride 4, soft-argmax points and a classification head.

    Parameters
    ----------
    n_points : int
        Landmark channels K.
    n_classes : int
        Class logits C (0 for none; a dummy zero-width output is still returned).
    width : int
        Channels of the first stage; later stages use 2x, 4x, 8x.
    """

    stride = 4

    def __init__(self, n_points: int, n_classes: int = 0, width: int = 16) -> None:
        super().__init__()
        w = width
        self.n_points, self.n_classes = n_points, n_classes
        self.stem = _block(1, w, stride=2)  # /2
        self.enc1 = _block(w, 2 * w, stride=2)  # /4
        self.enc2 = _block(2 * w, 4 * w, stride=2)  # /8
        self.enc3 = _block(4 * w, 8 * w, stride=2)  # /16
        self.enc4 = _block(8 * w, 8 * w, stride=2)  # /32
        self.ctx = _block(8 * w, 8 * w, dilation=2)
        self.dec3 = _block(16 * w, 4 * w)
        self.dec2 = _block(8 * w, 4 * w)
        self.dec1 = _block(6 * w, 4 * w)
        self.head = nn.Conv2d(4 * w, n_points, 1)
        self.cls = nn.Linear(8 * w, max(n_classes, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        e1 = self.enc1(s)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.ctx(self.enc4(e3))
        d3 = self.dec3(torch.cat([F.interpolate(e4, size=e3.shape[-2:], mode="bilinear", align_corners=False), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, size=e2.shape[-2:], mode="bilinear", align_corners=False), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False), e1], 1))
        heat = self.head(d1)
        coords, spread, prob = soft_argmax(heat, self.stride)
        logits = self.cls(e4.mean(dim=(2, 3)))
        if self.n_classes == 0:
            logits = logits[:, :0]
        return coords, spread, logits, prob


class ViewNet(nn.Module):
    """Small classifier: AP / lateral facing left / lateral facing right / not a lumbar film. Returns logits (N, C)."""

    def __init__(self, n_classes: int, width: int = 8) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _block(1, w, stride=2),
            _block(w, 2 * w, stride=2),
            _block(2 * w, 4 * w, stride=2),
            _block(4 * w, 8 * w, stride=2),
            _block(8 * w, 8 * w, stride=2),
        )
        self.fc = nn.Linear(8 * w * 2, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        # mean and max pooling: the max keeps a small bright structure (metal, bone edge) visible
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.fc(pooled)
