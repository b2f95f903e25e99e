"""The trainable part of a fine-tuned SAM-2: class tokens, mask decoder and a light band head.

Imported only inside functions (it imports torch). SAM's image encoder stays
frozen; its features come from the cache. Each class has one learned prompt
token; the mask decoder turns the K tokens into K low-resolution logit maps,
which are upsampled to the window. The head sees those logits together with
the classifier's bands at full resolution (standardised) and adds a
correction: SAM brings shape and context, the bands the spectral knowledge.
``variant="tokens"`` trains the tokens alone (decoder frozen, no head).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

HEAD_WIDTH = 16
VARIANTS = ("full", "tokens")


class ClassNet(nn.Module):
    def __init__(self, base_model, n_classes: int, n_bands: int, variant: str = "full") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant}")
        self.variant = variant
        dim = base_model.sam_prompt_encoder.embed_dim
        self.class_tokens = nn.Parameter(0.02 * torch.randn(n_classes, 1, dim))
        self.decoder = copy.deepcopy(base_model.sam_mask_decoder)
        # Training and prediction must pick the same mask output: no stability-based switching.
        self.decoder.dynamic_multimask_via_stability = False
        self.decoder.requires_grad_(variant == "full")
        pe = base_model.sam_prompt_encoder
        self.register_buffer("image_pe", pe.get_dense_pe().detach().clone(), persistent=False)
        self.register_buffer("no_mask", pe.no_mask_embed.weight.detach().clone().reshape(1, -1, 1, 1),
                             persistent=False)
        self.head = None
        if variant == "full":
            self.head = nn.Sequential(
                nn.Conv2d(n_classes + n_bands, HEAD_WIDTH, 3, padding=1), nn.ReLU(),
                nn.Conv2d(HEAD_WIDTH, n_classes, 1),
            )
            nn.init.zeros_(self.head[2].weight)     # starts as SAM alone; learns a correction
            nn.init.zeros_(self.head[2].bias)

    def low_res(self, feats: dict) -> torch.Tensor:
        """(K, 256, 256) class logits in SAM's low-resolution frame."""
        k = self.class_tokens.shape[0]
        embed = feats["image_embed"]
        dense = self.no_mask.expand(k, -1, embed.shape[-2], embed.shape[-1])
        low, _, _, _ = self.decoder(
            image_embeddings=embed, image_pe=self.image_pe, sparse_prompt_embeddings=self.class_tokens,
            dense_prompt_embeddings=dense, multimask_output=False, repeat_image=True,
            high_res_features=feats["high_res_feats"],
        )
        return low[:, 0]

    def forward(self, feats: dict, bands: torch.Tensor, crop=None) -> torch.Tensor:
        """(K, rows, cols) class logits for a window; ``bands`` is (B, rows, cols) standardised.

        ``crop`` = (r0, r1, c0, c1) limits the full-resolution part to a crop (training)."""
        up = F.interpolate(self.low_res(feats)[None], size=bands.shape[-2:], mode="bilinear",
                           align_corners=False)[0]
        if crop is not None:
            r0, r1, c0, c1 = crop
            up, bands = up[:, r0:r1, c0:c1], bands[:, r0:r1, c0:c1]
        if self.head is None:
            return up
        return up + self.head(torch.cat([up, bands])[None])[0]

    def trained_state(self) -> dict:
        """Only what training changed: tokens, and for 'full' the decoder and head."""
        state = {"class_tokens": self.class_tokens.detach().cpu()}
        if self.variant == "full":
            state["decoder"] = {k: v.detach().cpu() for k, v in self.decoder.state_dict().items()}
            state["head"] = {k: v.detach().cpu() for k, v in self.head.state_dict().items()}
        return state

    def load_trained_state(self, state: dict) -> None:
        self.class_tokens.data.copy_(state["class_tokens"])
        if self.variant == "full":
            self.decoder.load_state_dict(state["decoder"])
            self.head.load_state_dict(state["head"])


def dihedral(t: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips/rotations of the last two axes (k in 0..7)."""
    if k >= 4:
        t = torch.flip(t, dims=(-1,))
    return torch.rot90(t, k % 4, dims=(-2, -1))
